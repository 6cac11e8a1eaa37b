namespace Tessera.Core.Protocol;

/// <summary>Either a value or an <see cref="OAuthError"/>; protocol failures are results, not exceptions.</summary>
public readonly struct OAuthResult<T>
{
    private OAuthResult(T? value, OAuthError? error)
    {
        Value = value;
        Error = error;
    }

    public T? Value { get; }
    public OAuthError? Error { get; }
    public bool Succeeded => Error is null;

    public static OAuthResult<T> Ok(T value) => new(value, null);
    public static OAuthResult<T> Fail(OAuthError error) => new(default, error);

    public static implicit operator OAuthResult<T>(OAuthError error) => Fail(error);
}
