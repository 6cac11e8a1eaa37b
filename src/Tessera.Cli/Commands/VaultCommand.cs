using System.CommandLine;

namespace Tessera.Cli.Commands;

internal static class VaultCommand
{
    public static Command Create()
    {
        var config = CliOptions.Config();
        var rekey = new Command("rekey", "Wrap every data key under a new key-encryption key and delete the old one, without downtime") { config };
        rekey.SetAction((parse, ct) => ClientCommand.RunAsync(parse.GetValue(config)!, async client =>
        {
            using var result = await client.PostAsync("/admin/v1/vault/rekey", new { }, ct);
            var r = result.RootElement;
            var removed = string.Join(", ", r.GetProperty("removed").EnumerateArray().Select(e => e.GetString()));
            Terminal.WriteLine($"vault rekeyed: {r.GetProperty("rewrapped").GetInt32()} data keys now under {r.GetProperty("key_id").GetString()}; removed {(removed.Length == 0 ? "none" : removed)}");
            return ExitCodes.Success;
        }));

        return new Command("vault", "The vault's key-encryption keys") { rekey };
    }
}
