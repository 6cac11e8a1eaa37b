namespace Tessera.Client.AspNetCore;

/// <summary>Default values of the Tessera token authentication scheme.</summary>
public static class TesseraTokenDefaults
{
    /// <summary>The scheme name <see cref="TesseraAuthenticationBuilderExtensions.AddTesseraToken(Microsoft.AspNetCore.Authentication.AuthenticationBuilder, Action{TesseraTokenOptions})"/> registers: <c>Tessera</c>.</summary>
    public const string AuthenticationScheme = "Tessera";
}
