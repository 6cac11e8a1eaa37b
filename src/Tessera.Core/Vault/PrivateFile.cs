namespace Tessera.Core.Vault;

/// <summary>
/// Files and directories that only the owner may use: files 0600 and directories 0700, created that
/// way rather than chmod-ed after. Key files that others could read or write are refused, not used.
/// On Windows the checks are skipped (ACLs are left to the operator).
/// </summary>
public static class PrivateFile
{
    private const UnixFileMode GroupOrOthers =
        UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute |
        UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    public static void WriteNew(string path, string contents)
    {
        using var stream = new FileStream(path, OwnerOnly(FileMode.CreateNew, FileAccess.Write));
        using var writer = new StreamWriter(stream);
        writer.Write(contents);
        writer.Flush();
        stream.Flush(flushToDisk: true);
    }

    /// <summary>Creates <paramref name="path"/> (and missing parents) with mode 0700; an existing directory is left as it is.</summary>
    public static void CreateDirectory(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
            return;
        }

        Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    /// <summary>Opens (creating it 0600 when missing) a file for exclusive read-write use, such as a lock file.</summary>
    public static FileStream OpenExclusive(string path)
    {
        return new FileStream(path, OwnerOnly(FileMode.OpenOrCreate, FileAccess.ReadWrite));
    }

    /// <summary>
    /// Refuses an existing key file that group or others may read or write: whoever can read it holds
    /// the key, and whoever can write it can swap in their own. Throws with what to do about it.
    /// </summary>
    public static void EnsureNotShared(string path, string what)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var mode = File.GetUnixFileMode(path);
        if ((mode & GroupOrOthers) != 0)
        {
            throw new InvalidOperationException(
                $"{path} ({what}) is readable or writable by group or others (mode {Octal(mode)}); run 'chmod 600 {path}' and check who could have read it");
        }
    }

    /// <summary>Removes group and other permissions from an existing file (a database Tessera owns); a missing file is ignored.</summary>
    public static void Restrict(string path)
    {
        if (OperatingSystem.IsWindows() || !File.Exists(path))
        {
            return;
        }

        var mode = File.GetUnixFileMode(path);
        if ((mode & GroupOrOthers) != 0)
        {
            File.SetUnixFileMode(path, mode & ~GroupOrOthers);
        }
    }

    private static string Octal(UnixFileMode mode) => "0" + Convert.ToString((int)mode & 0x1FF, 8);

    /// <summary>Exclusive use of a file that, when this creates it, only its owner may read or write (0600).</summary>
    private static FileStreamOptions OwnerOnly(FileMode mode, FileAccess access)
    {
        var options = new FileStreamOptions { Mode = mode, Access = access, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        return options;
    }
}
