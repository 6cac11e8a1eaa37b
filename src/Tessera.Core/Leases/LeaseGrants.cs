using System.Text;

namespace Tessera.Core.Leases;

/// <summary>
/// The grant statements of a database scope. The configuration's text is run as written, with one
/// substitution: <c>{{role}}</c> becomes the lease's role, quoted as an identifier. Nothing from a
/// request ever reaches SQL; the role name is Tessera's own (<see cref="LeaseNames"/>).
/// </summary>
public static class LeaseGrants
{
    /// <summary>The placeholder for the lease's role.</summary>
    public const string RolePlaceholder = "{{role}}";

    private const int MaxLength = 4096;

    /// <summary>Why <paramref name="grant"/> cannot be a grant statement, or null when it can.</summary>
    public static string? Check(string grant)
    {
        if (string.IsNullOrWhiteSpace(grant) || grant.Length > MaxLength)
        {
            return $"a grant is one SQL statement of at most {MaxLength} characters";
        }

        // Reject a statement that does not name the lease's role: it would change what every other role may do.
        if (!grant.Contains(RolePlaceholder, StringComparison.Ordinal))
        {
            return $"'{grant}' does not name the lease's role: write {RolePlaceholder} where the role goes, e.g. GRANT SELECT ON reporting.orders TO {RolePlaceholder}";
        }

        // Reject any other template syntax: {{role}} is the only substitution, and a typo must not reach the database.
        if (grant.Replace(RolePlaceholder, "", StringComparison.Ordinal).Contains("{{", StringComparison.Ordinal))
        {
            return $"'{grant}' has a placeholder other than {RolePlaceholder}, the only substitution Tessera makes";
        }

        // Reject several statements in one entry: each grant is one statement, so each can fail alone and say which.
        if (grant.TrimEnd().TrimEnd(';').Contains(';', StringComparison.Ordinal))
        {
            return $"'{grant}' holds more than one statement: write one grant per list item";
        }

        return grant.Any(c => char.IsControl(c) && c is not ('\n' or '\r' or '\t'))
            ? $"a grant may not hold control characters"
            : null;
    }

    /// <summary>The statement to run for <paramref name="role"/>: the placeholder replaced by the role quoted as an identifier.</summary>
    public static string Render(string grant, string role) =>
        grant.TrimEnd().TrimEnd(';').Replace(RolePlaceholder, QuoteIdentifier(role), StringComparison.Ordinal);

    /// <summary>A PostgreSQL identifier in double quotes, with any double quote doubled.</summary>
    public static string QuoteIdentifier(string name)
    {
        var builder = new StringBuilder(name.Length + 2).Append('"');
        foreach (var c in name)
        {
            builder.Append(c == '"' ? "\"\"" : c.ToString());
        }

        return builder.Append('"').ToString();
    }
}
