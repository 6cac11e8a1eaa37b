using System.Security.Cryptography;
using System.Text;

// The tool behind the proxy in the load harness: GET /contacts/{id} answers a small fixed JSON body
// when X-Api-Key carries the key given in UPSTREAM_API_KEY, 401 otherwise. The harness calls it
// directly and through /proxy/crm/..., so the difference between the two runs is Tessera's.
// UPSTREAM_DELAY_MS (default 0) makes each answer take that long, as a real API's work would:
// with 0 the upstream is nearly free and any forwarder's own cost dominates the comparison.
var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
var app = builder.Build();
var key = Encoding.UTF8.GetBytes(Environment.GetEnvironmentVariable("UPSTREAM_API_KEY")
    ?? throw new InvalidOperationException("set UPSTREAM_API_KEY"));
var delay = TimeSpan.FromMilliseconds(int.Parse(Environment.GetEnvironmentVariable("UPSTREAM_DELAY_MS") ?? "0", System.Globalization.CultureInfo.InvariantCulture));
var body = """{"id":"42","name":"Ada Lovelace","email":"ada@example.com","company":"Analytical Engines Ltd","phone":"+44 20 7946 0000"}"""u8.ToArray();

app.MapGet("/contacts/{id}", async (HttpContext context) =>
{
    if (delay > TimeSpan.Zero)
    {
        await Task.Delay(delay);
    }

    var given = context.Request.Headers["X-Api-Key"];
    if (given.Count != 1 || !CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(given[0] ?? ""), key))
    {
        context.Response.StatusCode = 401;
        return;
    }

    context.Response.ContentType = "application/json";
    context.Response.ContentLength = body.Length;
    await context.Response.Body.WriteAsync(body);
});

app.Run();
