using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Tessera.Client;

namespace SupportAgent;

/// <summary>
/// The agent's deterministic plan for ticket 4711 (no language model): on alice's behalf, read the
/// contact through Tessera's proxy, ask a person to approve the export, wait, export once, see that a
/// second export is refused, and end the mission.
/// </summary>
internal static class SupportPlan
{
    public static async Task<int> RunAsync(string directory, int tesseraPort, int crmPort)
    {
        await using var crm = await CrmStub.StartAsync(crmPort);
        var authority = new Uri($"http://127.0.0.1:{tesseraPort}");
        var proxy = new Uri(authority, "/proxy/crm/");

        // The three-line setup: who the agent is, and which clients carry which Tessera tokens.
        var services = new ServiceCollection();
        services.AddTesseraAgent(o =>
        {
            o.Authority = authority;
            o.AgentId = SampleSetup.AgentId;
            o.UseClientSecret(File.ReadAllText(Path.Combine(directory, SampleSetup.SecretFile)).Trim());
        });
        services.AddHttpClient("crm-read", c => c.BaseAddress = proxy).AddTesseraToken("crm", "crm:read");
        services.AddHttpClient("crm-export", c => c.BaseAddress = proxy).AddTesseraToken("crm", "crm:export");
        await using var provider = services.BuildServiceProvider();
        var tessera = provider.GetRequiredService<ITesseraAgent>();
        var clients = provider.GetRequiredService<IHttpClientFactory>();

        // alice signs in to the support tool (the sample's identity provider stands in for the real one).
        var alice = SampleIdentityProvider.Load(directory).Mint("alice", "tessera");
        await using (var mission = await tessera.BeginMissionAsync("Ticket 4711: send the customer their data", onBehalfOf: alice))
        {
            Console.WriteLine($"mission {mission.Id} begun for alice");

            var contact = await clients.CreateClient("crm-read").GetStringAsync(new Uri("contacts/42", UriKind.Relative));
            Console.WriteLine($"read contact 42 through the proxy: {contact}");

            var export = clients.CreateClient("crm-export");
            var request = new { contact = "42", format = "csv" };
            try
            {
                using var unexpected = await export.PostAsJsonAsync("exports", request);
                Console.WriteLine($"FAILED: the export went through without an approval ({(int)unexpected.StatusCode})");
                return 1;
            }
            catch (TesseraApprovalRequiredException pending)
            {
                var approval = pending.Approval;
                Console.WriteLine($"approval required: auth_req_id={approval.AuthReqId} (scopes {string.Join(' ', approval.Scopes)}, open until {approval.ExpiresAt:u})");
                Console.WriteLine($"an approver runs: tessera approval approve {approval.AuthReqId}");
                using var patience = new CancellationTokenSource(approval.ExpiresIn);
                var outcome = await approval.WaitAsync(patience.Token);
                if (!outcome.IsApproved)
                {
                    Console.WriteLine($"FAILED: the approval ended {outcome.Status}: {outcome.ErrorDescription}");
                    return 1;
                }

                Console.WriteLine($"approval {approval.AuthReqId} approved");
            }

            using (var exported = await export.PostAsJsonAsync("exports", request))
            {
                if (exported.StatusCode != HttpStatusCode.Created)
                {
                    Console.WriteLine($"FAILED: the approved export answered {(int)exported.StatusCode}");
                    return 1;
                }

                Console.WriteLine($"exported once: {await exported.Content.ReadAsStringAsync()}");
            }

            using (var again = await export.PostAsJsonAsync("exports", request))
            {
                if (again.StatusCode != HttpStatusCode.Forbidden)
                {
                    Console.WriteLine($"FAILED: a second export answered {(int)again.StatusCode}, not 403");
                    return 1;
                }

                Console.WriteLine("a second export is refused: 403 (the approval allowed one use)");
            }
        }

        Console.WriteLine("mission ended: its token and every token derived from it are revoked");
        Console.WriteLine("plan complete");
        return 0;
    }
}
