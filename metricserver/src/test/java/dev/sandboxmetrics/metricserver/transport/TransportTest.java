package dev.sandboxmetrics.metricserver.transport;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.EventExecutor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Which Netty transport the tests run on. The build runs this module's tests twice (see the pom): with
 * native epoll, which must load on the Linux x86_64 machines we build on, and with
 * {@code -Dsandboxmetrics.transport=nio}, which must then really be NIO, or the second run would test
 * nothing new.
 */
class TransportTest {
  @Test
  void theTransportIsTheOneTheBuildAskedFor() {
    String asked = System.getProperty("sandboxmetrics.transport", "epoll");

    Transport transport = Transport.detect();

    assertThat(transport.name()).isEqualTo(asked);
    assertThat(transport.isEpoll()).isEqualTo(asked.equals("epoll"));
  }

  /**
   * Netty's own loops, with nothing scheduled, wake up every second; ours sleep until there is work. Counted
   * as the kernel counts a thread's voluntary context switches (each time it blocks again after waking up),
   * over 3.5 s of idleness: Netty's default would make at least 3 per loop.
   */
  @Test
  void anIdleEventLoopDoesNotWakeUp() throws Exception {
    EventLoopGroup group = Transport.detect().newEventLoopGroup(2, "idle-test");
    try {
      List<Path> loopThreads = new ArrayList<>();
      for (EventExecutor loop : group) {
        // /proc/thread-self names the thread that reads it: the loop's own directory under /proc/self/task.
        loopThreads.add(loop.submit(() -> Path.of("/proc/self/task").resolve(
            Files.readSymbolicLink(Path.of("/proc/thread-self")).getFileName())).get(5, TimeUnit.SECONDS));
      }
      Thread.sleep(200); // the loops go back to waiting after the task above
      List<Long> before = new ArrayList<>();
      for (Path t : loopThreads) {
        before.add(voluntarySwitches(t));
      }

      Thread.sleep(3_500);

      for (int i = 0; i < loopThreads.size(); i++) {
        assertThat(voluntarySwitches(loopThreads.get(i)) - before.get(i))
            .as("wake-ups of idle loop %d in 3.5 s", i)
            .isLessThanOrEqualTo(1);
      }
    } finally {
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }
  }

  private static long voluntarySwitches(Path thread) throws Exception {
    for (String line : Files.readAllLines(thread.resolve("status"))) {
      if (line.startsWith("voluntary_ctxt_switches:")) {
        return Long.parseLong(line.substring(line.indexOf(':') + 1).trim());
      }
    }
    throw new AssertionError("no voluntary_ctxt_switches in " + thread + "/status");
  }
}
