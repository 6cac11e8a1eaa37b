using System.Security.Cryptography;
using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.AuthenticatedEncryption;
using Microsoft.AspNetCore.DataProtection.AuthenticatedEncryption.ConfigurationModel;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Tessera.Core.Vault;

namespace Tessera.Server.Console;

/// <summary>
/// The key that encrypts console cookies (the session and the forms' antiforgery tokens): one key,
/// derived from the master key (HKDF, its own purpose), never written anywhere. Every node of an
/// installation holds the same master key, so a session signed in on one node is valid on all of
/// them, and across a restart; changing the master key ends every session. ASP.NET Core's data
/// protection does the encryption; only where its key comes from is ours.
/// </summary>
internal sealed class ConsoleKeys : IXmlRepository
{
    private const string Purpose = "tessera console cookies v1";

    // Dates in the key ring's own format: valid from long ago until far ahead (the key never rotates on
    // its own; it changes with the master key).
    private static readonly DateTimeOffset Created = new(2000, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Expires = new(9000, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private readonly XElement _key;

    public ConsoleKeys(MasterKey masterKey)
    {
        var secret = masterKey.Derive([], Purpose);
        try
        {
            // The key's id must be the same on every node: taken from a hash of the secret, never the secret.
            var id = new Guid(SHA256.HashData(secret).AsSpan(0, 16));
            var descriptor = new AuthenticatedEncryptorDescriptor(new AuthenticatedEncryptorConfiguration(), new Secret(secret)).ExportToXml();
            _key = new XElement("key",
                new XAttribute("id", id),
                new XAttribute("version", 1),
                new XElement("creationDate", Created),
                new XElement("activationDate", Created),
                new XElement("expirationDate", Expires),
                new XElement("descriptor",
                    new XAttribute("deserializerType", descriptor.DeserializerType.AssemblyQualifiedName!),
                    descriptor.SerializedDescriptorElement));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(secret);
        }
    }

    public IReadOnlyCollection<XElement> GetAllElements() => [new XElement(_key)];

    /// <summary>Key generation is off (<see cref="ConsoleSession.Add"/>): nothing is ever stored.</summary>
    public void StoreElement(XElement element, string friendlyName) =>
        throw new InvalidOperationException("The console's cookie key is derived from the master key and never generated or stored.");
}
