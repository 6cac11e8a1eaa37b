namespace Tessera.Core.Identity;

public static class ClientAuthMethods
{
    public const string ClientSecretBasic = "client_secret_basic";
    public const string ClientSecretPost = "client_secret_post";
    public const string PrivateKeyJwt = "private_key_jwt";
    public const string JwtBearerAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

    public static readonly IReadOnlyList<string> Supported = [ClientSecretBasic, ClientSecretPost, PrivateKeyJwt];
}
