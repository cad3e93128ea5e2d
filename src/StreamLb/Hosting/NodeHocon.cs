namespace StreamLb.Hosting;

/// <summary>The Akka settings every node runs with.</summary>
public static class NodeHocon
{
    /// <summary>
    /// 64 KiB socket reads and write batches: the 4 KiB default caps a relay near 100 MiB/s, and above ~80 KiB every
    /// read would land on the large-object heap. The buffer sizes must be at least the frame size.
    /// </summary>
    public const string Default = """
        akka {
          loglevel = INFO
          io.tcp {
            maximum-frame-size = 64k
            send-buffer-size = 128k
            receive-buffer-size = 128k
          }
          actor.debug.unhandled = off
        }
        """;
}
