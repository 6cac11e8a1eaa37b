using System.Globalization;

namespace Tessera.Core.Approvals;

/// <summary>
/// The one rule for text that an agent or an approver writes and a person later reads (an
/// approval's <c>reason</c>, a decision's <c>comment</c>): printable characters only. Control
/// characters could forge lines in a terminal; format characters (right-to-left overrides, bidi
/// isolates, zero-width characters) and line or paragraph separators could make what an approver
/// sees differ from what the text says.
/// </summary>
public static class ApprovalText
{
    public static bool IsDisplayable(string text, int maxLength)
    {
        if (text.Length > maxLength)
        {
            return false;
        }

        foreach (var c in text)
        {
            if (char.GetUnicodeCategory(c) is UnicodeCategory.Control or UnicodeCategory.Format
                or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator)
            {
                return false;
            }
        }

        return true;
    }
}
