using System.Net;
using System.Net.Sockets;
using SupportAgent;

// The support-agent sample (see README.md). run.sh drives it:
//   SupportAgent ports                       two free loopback ports (Tessera's, the CRM's)
//   SupportAgent setup DIR TESSERA_PORT CRM_PORT   writes tessera.yaml, the identity provider's keys and the agent's secret
//   SupportAgent token DIR SUB AUDIENCE      a JWT of the sample's identity provider (an approver's sign-in)
//   SupportAgent run DIR TESSERA_PORT CRM_PORT     starts the stand-in CRM and runs the plan
switch (args)
{
    case ["ports"]:
        Console.WriteLine($"{FreePort()} {FreePort()}");
        return 0;
    case ["setup", var directory, var tesseraPort, var crmPort]:
        SampleSetup.Write(directory, int.Parse(tesseraPort, System.Globalization.CultureInfo.InvariantCulture), int.Parse(crmPort, System.Globalization.CultureInfo.InvariantCulture));
        return 0;
    case ["token", var directory, var subject, var audience]:
        Console.WriteLine(SampleIdentityProvider.Load(directory).Mint(subject, audience));
        return 0;
    case ["run", var directory, var tesseraPort, var crmPort]:
        return await SupportPlan.RunAsync(directory, int.Parse(tesseraPort, System.Globalization.CultureInfo.InvariantCulture), int.Parse(crmPort, System.Globalization.CultureInfo.InvariantCulture));
    default:
        Console.Error.WriteLine("usage: SupportAgent ports | setup DIR TESSERA_PORT CRM_PORT | token DIR SUB AUDIENCE | run DIR TESSERA_PORT CRM_PORT");
        return 2;
}

static int FreePort()
{
    using var listener = new TcpListener(IPAddress.Loopback, 0);
    listener.Start();
    return ((IPEndPoint)listener.LocalEndpoint).Port;
}
