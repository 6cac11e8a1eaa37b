namespace Tessera.Core.Vault;

public readonly record struct SecretVersionId(string Name, int Version)
{
    public override string ToString() => $"{Name} v{Version}";

    /// <summary>Reads what <see cref="ToString"/> wrote (<c>crm-key v3</c>), as audit events carry it.</summary>
    public static bool TryParse(string? text, out SecretVersionId id)
    {
        id = default;
        var space = text?.LastIndexOf(" v", StringComparison.Ordinal) ?? -1;
        if (space <= 0
            || !int.TryParse(text.AsSpan(space + 2), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var version)
            || version < 1
            || !SecretName.IsValid(text![..space]))
        {
            return false;
        }

        id = new SecretVersionId(text[..space], version);
        return true;
    }
}
