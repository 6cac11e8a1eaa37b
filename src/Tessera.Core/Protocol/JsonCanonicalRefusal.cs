namespace Tessera.Core.Protocol;

/// <summary>Why <see cref="JsonCanonical"/> refused a value: input that has no single RFC 8785 form.</summary>
public enum JsonCanonicalRefusal
{
    /// <summary>Not refused.</summary>
    None = 0,

    /// <summary>A number that is not a finite IEEE-754 double (such as <c>1e400</c>): RFC 8785 §3.2.2.3 has no form for it.</summary>
    NumberNotFinite,

    /// <summary>
    /// An integer written without fraction or exponent that a double cannot hold exactly
    /// (such as <c>9007199254740993</c>): its canonical form would be another integer's, and a tool
    /// that reads integers exactly would see two different calls under one hash.
    /// </summary>
    IntegerNotExact,

    /// <summary>
    /// With exact numbers asked for (an approved call's arguments): a number whose decimal value is
    /// not that of its canonical form (<c>333333333.33333329</c>, <c>9007199254740993.0</c>), so a
    /// tool reading decimals exactly would act on another value than the one the hash binds.
    /// </summary>
    NumberNotExact,

    /// <summary>A string or member name that is not Unicode text: a lone surrogate escape or invalid UTF-8.</summary>
    InvalidUnicode,

    /// <summary>An object with two members of one name (after unescaping): which one counts is up to each reader.</summary>
    DuplicateMemberName,

    /// <summary>Containers nested deeper than <see cref="JsonCanonical.MaxDepth"/>.</summary>
    TooDeep,
}
