using System.CommandLine;

namespace Tessera.Cli.Commands;

internal static class KeysCommand
{
    public static Command Create()
    {
        var config = CliOptions.Config();
        var rotate = new Command("rotate", "Create a new signing key; it is published before it signs, old keys stay until their tokens expire") { config };
        rotate.SetAction((parse, ct) => ClientCommand.RunAsync(parse.GetValue(config)!, async client =>
        {
            using var result = await client.PostAsync("/admin/v1/keys/rotate", new { }, ct);
            var r = result.RootElement;
            Terminal.WriteLine($"new signing key {r.GetProperty("kid").GetString()}: published now, signs from {r.GetProperty("activates_at").GetString()}");
            return ExitCodes.Success;
        }));

        var list = new Command("list", "List signing keys and their state") { config };
        list.SetAction((parse, ct) => ClientCommand.RunAsync(parse.GetValue(config)!, async client =>
        {
            using var result = await client.GetAsync("/admin/v1/keys", ct);
            foreach (var k in result.RootElement.GetProperty("keys").EnumerateArray())
            {
                Terminal.WriteLine($"{k.GetProperty("kid").GetString()}  {k.GetProperty("status").GetString(),-8}  created {k.GetProperty("created_at").GetString()}  signs from {k.GetProperty("activates_at").GetString()}");
            }

            return ExitCodes.Success;
        }));

        return new Command("keys", "Signing keys") { rotate, list };
    }
}
