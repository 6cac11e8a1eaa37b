using System.Reflection;

namespace Tessera.Core.Tests.Posture;

public sealed class PostureFindingTypesTests
{
    [Fact]
    public void Every_finding_type_is_listed_so_each_has_its_metrics_gauge()
    {
        var declared = typeof(PostureFindingTypes).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.IsLiteral && f.FieldType == typeof(string))
            .Select(f => (string)f.GetRawConstantValue()!);

        Assert.Equal(declared.Order(StringComparer.Ordinal), PostureFindingTypes.All.Order(StringComparer.Ordinal));
    }
}
