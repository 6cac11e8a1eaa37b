using System.Security.Claims;
using Microsoft.AspNetCore.Authorization;

namespace Tessera.Client.AspNetCore.Tests;

public sealed class TesseraAuthorizationPolicyBuilderExtensionsTests : ToolTestBase
{
    [Fact]
    public async Task A_token_without_the_endpoints_scope_is_403_insufficient_scope()
    {
        var token = await Broker.TokenAsync("crm:read");

        using var response = await Tool.SendAsync(HttpMethod.Post, "/exports", "Bearer", token);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("Bearer error=\"insufficient_scope\"", TestTool.Challenge(response));
    }

    [Fact]
    public async Task A_token_with_several_scopes_passes_each_endpoint_it_covers()
    {
        var token = await Broker.TokenAsync("crm:read crm:export");

        using var read = await Tool.GetBearerAsync("/contacts/1", token);
        using var export = await Tool.SendAsync(HttpMethod.Post, "/exports", "Bearer", token);

        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        Assert.Equal(HttpStatusCode.OK, export.StatusCode);
    }

    [Theory]
    [InlineData("crm:read crm:export", true)]
    [InlineData("crm:export  crm:read", true)]
    [InlineData("crm:read", false)]
    [InlineData("crm:readexport", false)]
    [InlineData("crm:read,crm:export", false)]
    [InlineData("CRM:READ crm:export", false)]
    [InlineData("", false)]
    public void Every_required_scope_must_be_one_whole_space_separated_value(string granted, bool allowed)
    {
        var user = new ClaimsPrincipal(new ClaimsIdentity([new Claim("scope", granted)], "Tessera"));

        Assert.Equal(allowed, TesseraAuthorizationPolicyBuilderExtensions.HasScopes(user, ["crm:read", "crm:export"]));
    }

    [Fact]
    public void The_policy_requires_an_authenticated_user_and_at_least_one_scope()
    {
        var policy = new AuthorizationPolicyBuilder().RequireScope("crm:read").Build();

        Assert.Contains(policy.Requirements, r => r is Microsoft.AspNetCore.Authorization.Infrastructure.DenyAnonymousAuthorizationRequirement);
        Assert.Throws<ArgumentException>(() => new AuthorizationPolicyBuilder().RequireScope());
        Assert.Throws<ArgumentException>(() => new AuthorizationPolicyBuilder().RequireScope(" "));
    }
}
