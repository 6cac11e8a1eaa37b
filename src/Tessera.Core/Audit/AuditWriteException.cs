namespace Tessera.Core.Audit;

/// <summary>The audit log could not record an event durably; the action it records must fail.</summary>
public sealed class AuditWriteException(string message, Exception? inner) : Exception(message, inner);
