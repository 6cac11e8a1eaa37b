namespace Tessera.Core.Leases;

/// <summary>Why a provider could not do what was asked: what an operator must do about it differs.</summary>
public enum CredentialFailure
{
    /// <summary>The system refused Tessera's admin credential (wrong or malformed secret, a role without the privileges): an operator must fix the configuration.</summary>
    AdminRejected,

    /// <summary>The system refused the statement itself (a grant naming what does not exist): an operator must fix the tool's grants.</summary>
    Refused,

    /// <summary>The system could not be reached or did not answer in time: retrying may succeed.</summary>
    Unavailable,
}
