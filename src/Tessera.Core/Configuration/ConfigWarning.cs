namespace Tessera.Core.Configuration;

/// <summary>
/// Configuration that is accepted but weakens security, named like a <see cref="ConfigException"/>
/// (file, line, path, problem) and with a stable <see cref="Code"/>. <c>tessera serve</c> logs each
/// one at start; a posture report can list them.
/// </summary>
public sealed record ConfigWarning(string Code, string File, string PathInFile, string Problem, int? Line)
{
    /// <summary><c>server.listen</c> is plain http on an address other machines can reach.</summary>
    public const string PlainHttpListen = "plain-http-listen";

    /// <summary>An identity provider's keys are fetched over plain http (<c>allow_insecure: true</c>).</summary>
    public const string InsecureJwksUri = "insecure-jwks-uri";

    /// <summary>A tool's credential is sent over plain http to another host (<c>allow_insecure: true</c>).</summary>
    public const string InsecureUpstream = "insecure-upstream";

    /// <summary>A scope rule allows every method on every path of the tool (<c>* /**</c>).</summary>
    public const string AllowsEverything = "rule-allows-everything";

    /// <summary>An agent is registered for more than a year (only possible with a raised <c>registry.max_agent_lifetime</c>).</summary>
    public const string LongLivedAgent = "long-lived-agent";

    /// <summary>Identity-provider admins exist, and the bootstrap admin token (which never expires) is still accepted.</summary>
    public const string BootstrapTokenBesideAdmins = "bootstrap-token-beside-admins";

    public override string ToString()
    {
        var where = Line is { } l ? $"{File}:{l}" : File;
        return PathInFile.Length == 0 ? $"{where}: {Problem}" : $"{where}: {PathInFile}: {Problem}";
    }
}
