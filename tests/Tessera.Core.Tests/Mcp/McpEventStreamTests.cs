using System.IO.Pipelines;

namespace Tessera.Core.Tests.Mcp;

public sealed class McpEventStreamTests
{
    private static readonly Tessera.Core.Tools.Tool GitHub = McpAuthorizerTests.McpTool("github", new()
    {
        ["search"] = ["MCP tools/call search_*", "MCP tools/list"],
    });

    private const string ListAnswer = """{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"search_a"},{"name":"delete_repo"},{"name":"search_b"}]}}""";
    private const string Filtered = """{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"search_a"},{"name":"search_b"}]}}""";
    private const string Progress = """{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"p","progress":1}}""";

    /// <summary>How the source hands out its bytes: all at once, or a few at a time so every line end falls across reads.</summary>
    public static TheoryData<string, int> LineEndsAndChunks => new()
    {
        { "\n", 0 }, { "\r\n", 0 }, { "\r", 0 },
        { "\n", 1 }, { "\r\n", 1 }, { "\r", 1 },
        { "\n", 2 }, { "\r\n", 2 }, { "\r", 2 },
        { "\n", 3 }, { "\r\n", 3 }, { "\r", 3 },
    };

    [Theory]
    [MemberData(nameof(LineEndsAndChunks))]
    public async Task A_list_answer_is_rewritten_into_one_data_line_whatever_the_line_ends(string eol, int chunk)
    {
        var (outcome, output) = await Copy($"data: {ListAnswer}{eol}{eol}", chunk);

        Assert.Equal(McpFilterOutcome.Rewritten, outcome);
        Assert.Equal($"data: {Filtered}\n\n", output);
    }

    [Theory]
    [MemberData(nameof(LineEndsAndChunks))]
    public async Task Only_the_list_answer_is_rewritten_and_every_other_event_passes_byte_for_byte(string eol, int chunk)
    {
        var priming = $"id: prime-1{eol}data:{eol}{eol}";
        var comment = $": keep-alive{eol}{eol}";
        var notification = $"event: message{eol}data: {Progress}{eol}{eol}";
        var list = $"event: message{eol}id: 42{eol}retry: 1000{eol}: a comment{eol}data: {ListAnswer}{eol}{eol}";
        var after = $"id: 43{eol}data: {Progress}{eol}{eol}";

        var (outcome, output) = await Copy(priming + comment + notification + list + after, chunk);

        Assert.Equal(McpFilterOutcome.Rewritten, outcome);
        Assert.Equal(priming + comment + notification + $"event: message\nid: 42\nretry: 1000\n: a comment\ndata: {Filtered}\n\n" + after, output);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public async Task Data_over_several_lines_is_read_joined_and_written_as_one_line(int chunk)
    {
        var input = "event: message\n"
            + "data: {\"jsonrpc\":\"2.0\",\"id\":1,\n"
            + "data:\"result\":{\"tools\":[{\"name\":\"search_a\"},\n"
            + "data\n"
            + "data: {\"name\":\"delete_repo\"},{\"name\":\"search_b\"}]}}\n\n";

        var (outcome, output) = await Copy(input, chunk);

        Assert.Equal(McpFilterOutcome.Rewritten, outcome);
        Assert.Equal($"event: message\ndata: {Filtered}\n\n", output);
    }

    /// <summary>Streams that carry no list answer to filter, each with how its source hands out bytes.</summary>
    public static TheoryData<string, int> StreamsWithoutAListAnswer => new()
    {
        // A notification, a comment and another call's answer.
        { $"data: {Progress}\n\n: ping\n\ndata: {{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{{\"content\":[]}}}}\r\n\r\n", 1 },
        // A field that only starts like data (or names it with a space before the colon) is not data.
        { $"database: {ListAnswer}\ndata : {ListAnswer}\n\n", 0 },
    };

    [Theory]
    [MemberData(nameof(StreamsWithoutAListAnswer))]
    public async Task A_stream_without_a_list_answer_passes_unchanged(string input, int chunk)
    {
        var (outcome, output) = await Copy(input, chunk);

        Assert.Equal(McpFilterOutcome.Unchanged, outcome);
        Assert.Equal(input, output);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public async Task Data_that_is_not_JSON_refuses_the_stream_and_nothing_of_that_event_or_after_passes(int chunk)
    {
        var before = $"data: {Progress}\n\n";
        var input = before + $"data: {{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{{\"tools\":[{{\"name\":\"delete_repo\"}}]}}\n\n" + $"data: {ListAnswer}\n\n";

        var (outcome, output) = await Copy(input, chunk);

        Assert.Equal(McpFilterOutcome.Refused, outcome);
        Assert.Equal(before, output);
    }

    [Fact]
    public async Task A_list_answer_with_a_member_name_twice_refuses_the_stream()
    {
        var (outcome, output) = await Copy("data: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"tools\":[{\"name\":\"search_a\",\"name\":\"delete_repo\"}]}}\n\n", 0);

        Assert.Equal(McpFilterOutcome.Refused, outcome);
        Assert.Empty(output);
    }

    [Fact]
    public async Task An_event_cut_off_by_the_end_of_the_stream_is_dropped()
    {
        var whole = $"data: {Progress}\n\n";

        Assert.Equal(whole, (await Copy(whole + $"data: {ListAnswer}\n", 1)).Output);
        Assert.Equal(whole, (await Copy(whole + $"data: {ListAnswer}", 0)).Output);
        Assert.Equal(whole, (await Copy(whole + $"data: {Progress}\r\n", 0)).Output);
        Assert.Equal(whole, (await Copy(whole + $"data: {Progress}\r", 0)).Output);
    }

    [Fact]
    public async Task An_event_larger_than_the_largest_filtered_refuses_the_stream_even_without_data()
    {
        // 17 MiB of comment lines in one event: more than one event may hold, whatever it carries.
        var line = ": " + new string('c', 1022) + "\n";
        var big = new StringBuilder().Insert(0, line, (McpListFilter.MaxMessageBytes / line.Length) + 1024).Append('\n').ToString();
        var before = $"data: {Progress}\n\n";

        var (outcome, output) = await Copy(before + big + $"data: {Progress}\n\n", 0);

        Assert.Equal(McpFilterOutcome.Refused, outcome);
        Assert.Equal(before, output);
    }

    [Fact]
    public async Task An_event_as_large_as_the_largest_filtered_passes()
    {
        var line = ": " + new string('c', 1022) + "\n";
        var big = new StringBuilder().Insert(0, line, McpListFilter.MaxMessageBytes / line.Length).Append('\n').ToString();

        var (outcome, output) = await Copy(big + $"data: {ListAnswer}\n\n", 0);

        Assert.Equal(McpFilterOutcome.Rewritten, outcome);
        Assert.Equal(big + $"data: {Filtered}\n\n", output);
    }

    [Fact]
    public async Task A_list_answer_larger_than_the_largest_filtered_refuses_the_stream()
    {
        var entries = new StringBuilder();
        while (entries.Length <= McpListFilter.MaxMessageBytes)
        {
            entries.Append("{\"name\":\"search_").Append('x', 1000).Append("\"},");
        }

        var input = "data: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"tools\":[" + entries + "{\"name\":\"z\"}]}}\n\n";

        var (outcome, output) = await Copy(input, 0);

        Assert.Equal(McpFilterOutcome.Refused, outcome);
        Assert.Empty(output);
    }

    [Fact]
    public async Task A_large_stream_of_small_events_is_copied_whole()
    {
        // Many events through one buffer: what is left of a read is carried to the next event.
        var input = new StringBuilder();
        for (var i = 0; i < 3_000; i++)
        {
            input.Append("id: ").Append(i).Append("\r\ndata: ").Append(Progress).Append("\r\n\r\n");
        }

        var (outcome, output) = await Copy(input.ToString(), 0);

        Assert.Equal(McpFilterOutcome.Unchanged, outcome);
        Assert.Equal(input.ToString(), output);
    }

    [Fact]
    public async Task With_kind_none_every_event_passes_unread()
    {
        var input = $"data: {ListAnswer}\n\ndata: not json\n\n";

        var (outcome, output) = await Copy(input, 2, McpListKind.None);

        Assert.Equal(McpFilterOutcome.Unchanged, outcome);
        Assert.Equal(input, output);
    }

    [Fact]
    public async Task Once_the_token_has_ended_no_further_event_is_passed_on()
    {
        var input = Encoding.UTF8.GetBytes("event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/one\"}\n\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/two\"}\n\n");
        var asked = 0;

        var destination = new MemoryStream();
        await McpEventStream.CopyAsync(new MemoryStream(input), destination, Filter(), McpListKind.Any, () => ++asked == 1, TestContext.Current.CancellationToken);

        var written = Encoding.UTF8.GetString(destination.ToArray());
        Assert.Contains("notifications/one", written, StringComparison.Ordinal);
        Assert.DoesNotContain("notifications/two", written, StringComparison.Ordinal);
        Assert.Equal(2, asked);
    }

    [Fact]
    public async Task A_leading_byte_order_mark_does_not_hide_a_list_answer()
    {
        // A client drops a byte order mark at the start of the stream and reads the first line as data.
        byte[] input = [0xef, 0xbb, 0xbf, .. Encoding.UTF8.GetBytes($"data: {ListAnswer}\n\n")];

        var destination = new MemoryStream();
        var outcome = await McpEventStream.CopyAsync(new MemoryStream(input), destination, Filter(), McpListKind.Tools, null, TestContext.Current.CancellationToken);

        Assert.Equal(McpFilterOutcome.Rewritten, outcome);
        Assert.Equal($"data: {Filtered}\n\n", Encoding.UTF8.GetString(destination.ToArray()).TrimStart('\uFEFF'));
    }

    [Theory]
    [InlineData("\n")]
    [InlineData("\r\n")]
    [InlineData("\r")]
    public async Task An_event_is_passed_on_as_soon_as_it_is_whole_while_the_stream_stays_open(string eol)
    {
        var cancellation = TestContext.Current.CancellationToken;
        var pipe = new Pipe();
        var destination = new SignallingStream();
        var copy = McpEventStream.CopyAsync(pipe.Reader.AsStream(), destination, Filter(), McpListKind.Tools, null, cancellation);

        await pipe.Writer.WriteAsync(Encoding.UTF8.GetBytes($"data: {Progress}{eol}{eol}"), cancellation);
        // The guard only ends a hang; the event must arrive while the upstream still holds the stream open.
        await destination.Flushed.Task.WaitAsync(TimeSpan.FromSeconds(30), cancellation);
        Assert.Equal($"data: {Progress}{eol}{eol}", Encoding.UTF8.GetString(destination.ToArray()));

        await pipe.Writer.CompleteAsync();
        Assert.Equal(McpFilterOutcome.Unchanged, await copy);
    }

    private static McpListFilter Filter() => new(GitHub, ScopeSet.Of(["github:search"]));

    private static async Task<(McpFilterOutcome Outcome, string Output)> Copy(string input, int chunk, McpListKind kind = McpListKind.Tools)
    {
        var bytes = Encoding.UTF8.GetBytes(input);
        Stream source = chunk == 0 ? new MemoryStream(bytes) : new TrickleStream(bytes, chunk);
        var destination = new MemoryStream();

        var outcome = await McpEventStream.CopyAsync(source, destination, Filter(), kind, null, TestContext.Current.CancellationToken);

        return (outcome, Encoding.UTF8.GetString(destination.ToArray()));
    }

    /// <summary>A source that returns its bytes a few at a time (1, 2 or 3, turning through up to <c>most</c>), as a network might.</summary>
    private sealed class TrickleStream(byte[] bytes, int most) : Stream
    {
        private int _position;
        private int _turn;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var n = Math.Min(Math.Min(buffer.Length, (_turn++ % most) + 1), bytes.Length - _position);
            bytes.AsSpan(_position, n).CopyTo(buffer);
            _position += n;
            return n;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => ValueTask.FromResult(Read(buffer.Span));

        public override void Flush() => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    /// <summary>A destination that says when something was flushed to it.</summary>
    private sealed class SignallingStream : MemoryStream
    {
        public TaskCompletionSource Flushed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override Task FlushAsync(CancellationToken cancellationToken)
        {
            Flushed.TrySetResult();
            return Task.CompletedTask;
        }
    }
}
