namespace Tessera.Core.Tokens;

public static class GrantTypes
{
    public const string ClientCredentials = "client_credentials";
    public const string TokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange";
    public const string Ciba = "urn:openid:params:grant-type:ciba";
}
