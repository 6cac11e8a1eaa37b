using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection.Repositories;

namespace Tessera.Server.Console;

/// <summary>
/// Where the keys that encrypt console cookies live: in memory only, so nothing is written outside
/// data_dir and every session (and form) ends when the server stops.
/// </summary>
internal sealed class ConsoleKeys : IXmlRepository
{
    private readonly Lock _lock = new();
    private readonly List<XElement> _elements = [];

    public IReadOnlyCollection<XElement> GetAllElements()
    {
        lock (_lock)
        {
            return [.. _elements.Select(e => new XElement(e))];
        }
    }

    public void StoreElement(XElement element, string friendlyName)
    {
        lock (_lock)
        {
            _elements.Add(new XElement(element));
        }
    }
}
