namespace Tessera.Core.Configuration;

/// <summary>
/// The answer to a reload: the configuration now running, and either what changed or why nothing
/// did (<see cref="Code"/>, a <see cref="Protocol.RefusalCodes"/> <c>config.*</c> code).
/// </summary>
/// <param name="Hash">The hash of the configuration running after the call (the old one when refused).</param>
/// <param name="PreviousHash">The hash of the configuration that ran before the call.</param>
/// <param name="Changes">What changed, one line each (<see cref="ConfigChange"/>); empty when refused or when the file is the same.</param>
/// <param name="Warnings">What was accepted but deserves attention: weakening settings, secrets a new tool needs that the vault lacks.</param>
/// <param name="Code">The refusal's code, or null when the configuration was reloaded.</param>
/// <param name="Problem">Why it was refused (file, line and key for an invalid file), or null.</param>
public sealed record ConfigReload(string Hash, string PreviousHash, IReadOnlyList<string> Changes, IReadOnlyList<string> Warnings, string? Code, string? Problem)
{
    public bool Reloaded => Code is null;
}
