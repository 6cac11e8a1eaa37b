using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Prometheus;
using Tessera.Core.Audit;
using Tessera.Core.Configuration;
using Tessera.Core.Dpop;
using Tessera.Core.Identity;
using Tessera.Core.Limits;
using Tessera.Core.Revocation;
using Tessera.Core.Storage;
using Tessera.Core.Tokens;
using Tessera.Core.Tools;
using Tessera.Core.Vault;
using Tessera.Server.Admin;
using Tessera.Server.OAuth;
using Tessera.Server.Proxy;

namespace Tessera.Server.Hosting;

/// <summary>Composes the broker: Core services over a store, the HTTP endpoints, and start-up.</summary>
public static class TesseraHost
{
    /// <summary>
    /// Builds the web application. The caller owns <paramref name="store"/> and
    /// <paramref name="masterKey"/>; <paramref name="configureBuilder"/> lets tests swap the server.
    /// </summary>
    public static WebApplication Build(
        TesseraConfig config,
        ITesseraStore store,
        MasterKey masterKey,
        TimeProvider time,
        Action<WebApplicationBuilder>? configureBuilder = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ApplicationName = "Tessera" });
        builder.WebHost.UseUrls(config.Server.Listen.GetLeftPart(UriPartial.Authority));
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = 1024 * 1024;
            k.Limits.MaxRequestHeadersTotalSize = 32 * 1024;
        });
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);

        // While this category logs at any level, hosting starts an Activity and a log scope for every
        // request (≈ 6 µs of CPU per token request in quiet load tests; git history of docs/performance.md), only for the
        // request start/finish lines filtered out above. Start-up failures are reported by the caller;
        // unhandled request exceptions by the exception handler and Kestrel, which keep logging.
        builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.None);

        // YARP logs two Information lines per proxied request, with the upstream URL: a tenth of the
        // proxy's CPU, and the audit log already records every request.
        builder.Logging.AddFilter("Yarp", LogLevel.Warning);

        // An audit sink on standard output owns it: every log line goes to standard error, so a
        // collector reading standard output gets JSON lines and nothing else.
        if (config.AuditSinks.Any(s => s.Kind == AuditSinkKind.Stdout))
        {
            builder.Services.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        }

        var services = builder.Services;
        // Fetches identity providers' JWKS; kept across reloads with the providers that did not change.
        var jwksHttp = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };

        // What a reload can change is read from the live configuration on every use; this start-up
        // configuration serves only what takes a restart to change (ConfigChange.RestartOnly).
        services.AddSingleton(config);
        services.AddSingleton(_ => LiveConfig.Of(config, time, jwksHttp));
        services.AddSingleton(time);
        services.AddSingleton(store);
        services.AddSingleton(store.Audit);
        services.AddSingleton(store.Revocations);
        services.AddSingleton(store.SigningKeys);
        services.AddSingleton(store.Missions);
        services.AddSingleton(store.AgentStates);
        services.AddSingleton<SuspendedAgents>();
        services.AddSingleton(masterKey);
        // The checkpointer signs with the token keys, which are loaded after the log starts (StartupService).
        services.AddSingleton(new AuditCheckpointer(config.AuditCheckpoints));
        services.AddSingleton(sp => new AuditLog(store.Audit, time, sp.GetRequiredService<ILogger<AuditLog>>(), sp.GetRequiredService<AuditCheckpointer>()));
        services.AddSingleton<RevocationIndex>();
        services.AddSingleton<RevocationService>();
        services.AddSingleton<Tessera.Core.Sessions.ConsoleSessions>();
        services.AddSingleton<SigningKeyService>();
        services.AddSingleton(store.Replays);
        services.AddSingleton(new MemoryReplayCache(time));
        // Nodes sharing a database (a change feed) also share spent jtis, so a DPoP proof or client
        // assertion accepted by one is refused by the others; one node alone needs no I/O for it.
        services.AddSingleton<IReplayCache>(sp => store.Changes is null
            ? sp.GetRequiredService<MemoryReplayCache>()
            : new SharedReplayCache(sp.GetRequiredService<MemoryReplayCache>(), store.Replays, time));
        services.AddSingleton(sp => new FederatedAssertionValidator(sp.GetRequiredService<LiveConfig>(), sp.GetRequiredService<IReplayCache>(), time, config.Server.Issuer));
        services.AddSingleton(sp => new ClientAssertionValidator(sp.GetRequiredService<LiveConfig>(), sp.GetRequiredService<IReplayCache>(), time, config.Server.Issuer,
            sp.GetRequiredService<FederatedAssertionValidator>()));
        services.AddSingleton<ClientAuthenticator>();
        services.AddSingleton<DpopNonces>();
        services.AddSingleton<DpopProofValidator>();
        services.AddSingleton(store.Approvals);
        services.AddSingleton<Core.Approvals.IApprovalNotifier>(sp => new Approvals.WebhookNotifier(
            new HttpMessageInvoker(new SocketsHttpHandler
            {
                // A receiver that redirects is misconfigured; following it could send the request elsewhere.
                AllowAutoRedirect = false,
                ConnectTimeout = TimeSpan.FromSeconds(5),
                PooledConnectionLifetime = TimeSpan.FromMinutes(5),
                UseCookies = false,
            }),
            sp.GetRequiredService<SecretVault>(), sp.GetRequiredService<AuditLog>(), sp.GetRequiredService<LiveConfig>(), time, sp.GetRequiredService<ILogger<Approvals.WebhookNotifier>>()));
        services.AddSingleton<Core.Approvals.ApprovalService>();
        services.AddSingleton<IApprovalGate>(sp => sp.GetRequiredService<Core.Approvals.ApprovalService>());
        services.AddSingleton<TokenService>();
        services.AddSingleton<AccessTokenValidator>();
        services.AddSingleton<IntrospectionService>();
        services.AddSingleton(sp => new AdminAuthenticator(sp.GetRequiredService<LiveConfig>(),
            config.Server.BootstrapAdminToken ? AdminAuthenticator.EnsureBootstrapToken(config.DataDir) : null));
        services.AddSingleton(sp => new ConfigReloader(sp.GetRequiredService<LiveConfig>(), sp.GetRequiredService<AuditLog>(), sp.GetRequiredService<RevocationService>(),
            sp.GetRequiredService<SecretVault>(), time, jwksHttp, sp.GetRequiredService<ILogger<ConfigReloader>>(), sp.GetRequiredService<Core.Leases.LeaseService>()));
        services.AddHostedService<ConfigReloadSignal>();
        services.AddSingleton(sp => new Core.Cluster.NodeStatus(sp.GetRequiredService<LiveConfig>(), store.Nodes, time));
        services.AddSingleton<OAuthCallerAuthenticator>();
        services.AddSingleton<OAuthRefusals>();
        services.AddSingleton(store.Secrets);
        services.AddSingleton(store.TokenUses);
        services.AddSingleton<SecretVault>();
        services.AddSingleton(store.Usage);
        services.AddSingleton(sp => Core.Audit.Sinks.AuditSinks.Create(config, store.Audit, sp.GetRequiredService<AuditLog>(), time,
            sp.GetRequiredService<ILoggerFactory>(), System.Console.OpenStandardOutput));
        services.AddSingleton<Core.Posture.PostureService>();
        services.AddHttpForwarder();
        services.AddSingleton<Core.Mcp.McpSessionBinding>();
        services.AddSingleton<Core.Proxy.ProxyService>();
        services.AddSingleton<ToolProxy>();
        services.AddSingleton<ProxyEntry>();
        services.AddSingleton(store.Leases);
        // One provider per kind of credential a tool hands out (docs/architecture.md, "Credential providers").
        services.AddSingleton<Core.Leases.ICredentialProvider>(sp => new Credentials.Postgres.PostgresCredentialProvider(time,
            sp.GetRequiredService<ILogger<Credentials.Postgres.PostgresCredentialProvider>>()));
        services.AddSingleton<Core.Leases.LeaseService>();
        services.AddSingleton<Leases.CredentialEndpoint>();
        services.AddSingleton<RateLimits>();
        if (config.RateLimits.Enabled)
        {
            // Requests from a source over its allowance of refusals are answered 429 before anything
            // runs; the rule is Core's (RateLimits), the middleware ASP.NET Core's.
            services.AddRateLimiter(_ => { });
            services.AddOptions<RateLimiterOptions>().Configure<RateLimits>((options, limits) =>
            {
                options.GlobalLimiter = new SourceRateLimiter(limits);
                options.RejectionStatusCode = 429;
                options.OnRejected = SourceRateLimiter.RejectAsync;
            });
        }

        services.AddSingleton<AdminAudit>();
        services.AddSingleton<Readiness>();

        // One node of several on PostgreSQL: current only while it follows the change log; alone, always current.
        services.AddSingleton(new Core.Cluster.ClusterFreshness(time, config.Cluster.MaxStaleness, shared: store.Changes is not null));
        services.AddSingleton<Core.Cluster.ClusterChangeApplier>();
        services.AddHostedService<StartupService>();
        if (store.Nodes is not null)
        {
            // After StartupService, which migrates the store the report goes to.
            services.AddSingleton<NodeStatusReporter>();
            services.AddHostedService(sp => sp.GetRequiredService<NodeStatusReporter>());
        }

        services.AddHostedService<SigningKeyRetirement>();
        services.AddHostedService<PostureRefresh>();
        services.AddHostedService<Leases.LeaseReaper>();

        // After StartupService, which starts the audit log the sinks follow.
        services.AddHostedService<AuditSinkService>();
        services.AddProblemDetails();
        TesseraMeter.KeepOffPrometheus();
        TesseraTelemetry.Add(services, config.Telemetry, config.Cluster.NodeId);

        // The web console (docs/console.md): pages rendered on the server, with a cookie session of its own.
        services.AddRazorComponents();
        Console.ConsoleSession.Add(services);
        Console.ConsoleOidc.Add(services, config);
        configureBuilder?.Invoke(builder);

        var app = builder.Build();
        if (config.Telemetry is not null)
        {
            // Its instruments exist from the start, so the first export already carries them.
            app.Services.GetRequiredService<TesseraMeter>();
        }

        // Each request runs to its end under the configuration that was current when it arrived,
        // whatever reload happens meanwhile (LiveConfig.Pin; docs/operations.md).
        var live = app.Services.GetRequiredService<LiveConfig>();
        TesseraMetrics.ConfigInfo.WithLabels(live.Latest.Hash).Set(1);
        app.Services.GetRequiredService<ConfigReloader>().Completed += TesseraMetrics.ConfigReloaded;
        app.Use(async (context, next) =>
        {
            live.Pin();
            await next(context);
        });
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            ExceptionHandler = HandleUnexpectedAsync,

            // The OAuth endpoints leave an unwritable audit event to this handler (OAuthEndpoints); the
            // audit writer has logged the failure already, so each refused request adds no error of its own.
            SuppressDiagnosticsCallback = c => c.Exception is AuditWriteException && c.HttpContext.Request.Path.StartsWithSegments("/oauth"),
        });
        if (config.RateLimits.Enabled)
        {
            app.UseRateLimiter();
        }

        // The proxy answers before status-code pages, which would rewrite an upstream's empty error bodies.
        app.Map("/proxy", proxy => proxy.Run(context => context.RequestServices.GetRequiredService<ProxyEntry>().HandleAsync(context)));
        // Routing has already picked the endpoint here (minimal hosting routes first), so endpoints
        // that write their own error bodies skip status code pages; unmatched paths still get them.
        app.UseWhen(
            context => context.GetEndpoint()?.Metadata.GetMetadata<WritesOwnErrorBodies>() is null,
            branch => branch.UseStatusCodePages());
        app.MapOAuth();
        app.MapPost("/credentials/{tool}", (HttpContext context, string tool) => context.RequestServices.GetRequiredService<Leases.CredentialEndpoint>().HandleAsync(context, tool))
            .WithMetadata(WritesOwnErrorBodies.Instance);
        AdminApi.Map(app);
        Console.ConsoleEndpoints.Map(app, config);

        // What serves no caller's request and writes no audit event is never refused: probes and
        // scrapes from a limited address keep working.
        var open = app.MapGroup("").DisableRateLimiting();
        open.MapDiscovery();
        open.MapHealth();
        open.MapMetrics("/metrics");
        return app;
    }

    /// <summary>
    /// A bug or broken infrastructure reached the top: answer in the endpoint's error shape, without
    /// details (they may hold secrets), and log it.
    /// </summary>
    private static async Task HandleUnexpectedAsync(HttpContext context)
    {
        var failure = context.Features.Get<IExceptionHandlerFeature>()?.Error;
        if (failure is BadHttpRequestException bad)
        {
            // The client's failure surfacing where no handler caught it (a body over the server's
            // limit, a malformed chunk): its 4xx, never a 500.
            await WriteClientErrorAsync(context, bad.StatusCode);
            return;
        }

        var auditFailure = failure is AuditWriteException;
        var status = auditFailure ? 503 : 500;
        if (context.Request.Path.StartsWithSegments("/oauth"))
        {
            // An event that could not be written: the one fail-closed answer of the OAuth endpoints.
            await OAuthResponses.WriteErrorAsync(context, auditFailure
                ? Core.Protocol.OAuthError.ServerError
                : new Core.Protocol.OAuthError("server_error", "An internal error occurred; the request was not carried out.", status));
            return;
        }

        context.Response.StatusCode = status;
        await Results.Problem(statusCode: status, title: auditFailure ? "The action could not be recorded and was not carried out." : "Internal error").ExecuteAsync(context);
    }

    private static async Task WriteClientErrorAsync(HttpContext context, int status)
    {
        var detail = status == 413 ? "The request body is too large." : "The request could not be read.";
        if (context.Request.Path.StartsWithSegments("/oauth"))
        {
            await OAuthResponses.WriteErrorAsync(context, new Core.Protocol.OAuthError(Core.Protocol.OAuthErrorCodes.InvalidRequest, detail, status));
            return;
        }

        context.Response.StatusCode = status;
        await Results.Problem(statusCode: status, title: status == 413 ? "Too large" : "Bad request", detail: detail).ExecuteAsync(context);
    }
}
