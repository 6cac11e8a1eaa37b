using Microsoft.Extensions.Options;

namespace Tessera.Client;

/// <summary>
/// Refuses options an agent cannot work with, naming the configuration key, when they are first used
/// (the first token request), not deep inside an HTTP call.
/// </summary>
internal sealed class TesseraAgentOptionsValidator : IValidateOptions<TesseraAgentOptions>
{
    public ValidateOptionsResult Validate(string? name, TesseraAgentOptions options)
    {
        var failures = new List<string>();
        if (options.Authority is null)
        {
            failures.Add("Tessera:Authority is required: the issuer of the Tessera broker (for example https://tessera.internal).");
        }
        else if (!options.Authority.IsAbsoluteUri || (options.Authority.Scheme != Uri.UriSchemeHttps && options.Authority.Scheme != Uri.UriSchemeHttp))
        {
            failures.Add("Tessera:Authority must be an absolute http(s) URI.");
        }

        if (string.IsNullOrWhiteSpace(options.AgentId))
        {
            failures.Add("Tessera:AgentId is required: the agent's id in Tessera.");
        }

        if (string.IsNullOrEmpty(options.ClientSecret) && options.AssertionKey is null && options.FederatedAssertion is null)
        {
            failures.Add("Tessera:ClientSecret is required, unless the agent authenticates with UsePrivateKeyJwt or UseFederatedAssertion.");
        }

        if (options.RefreshBeforeExpiry < TimeSpan.Zero)
        {
            failures.Add("Tessera:RefreshBeforeExpiry must not be negative.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
