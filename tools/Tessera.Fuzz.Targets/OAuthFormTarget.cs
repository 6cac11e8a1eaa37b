using Tessera.Server.OAuth;

namespace Tessera.Fuzz.Targets;

/// <summary>The token endpoint's form body: any bytes up to the size limit give a form or a refusal.</summary>
internal static class OAuthFormTarget
{
    public static void Run(ReadOnlySpan<byte> input)
    {
        if (input.Length > OAuthForm.MaxBodyBytes)
        {
            return; // refused by ReadAsync before Parse is reached
        }

        var (form, refusal) = OAuthForm.Parse(input);
        if ((form is null) == (refusal is null))
        {
            throw new InvalidOperationException("OAuthForm.Parse must give exactly one of a form and a refusal");
        }

        if (form is not null)
        {
            foreach (var (name, _) in form.Parameters)
            {
                _ = form.Get(name);
            }

            _ = form.GetAll("resource");
            _ = form.GetAll("audience");
        }
    }
}
