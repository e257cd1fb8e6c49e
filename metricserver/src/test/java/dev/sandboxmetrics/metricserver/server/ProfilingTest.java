package dev.sandboxmetrics.metricserver.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sandboxmetrics.metricserver.testing.RawHttp;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import jdk.jfr.FlightRecorder;
import jdk.jfr.Recording;
import jdk.jfr.RecordingState;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 11 item 10: {@code /runsc-metrics/profile-cpu} on a real server. The recording holds no environment
 * variables, system properties, JVM arguments or host processes; only one recording runs at a time; a
 * recording whose client disconnects is stopped.
 */
@Timeout(60)
class ProfilingTest {
  private static final String NAME = "sandbox-metrics profile-cpu";

  @TempDir Path tmp;
  private MetricServer server;

  @AfterEach
  void stop() {
    if (server != null) {
      server.shutdown();
    }
  }

  private InetSocketAddress start() throws Exception {
    Files.createDirectories(tmp.resolve("root"));
    server = MetricServer.start(MetricServerOptions.of(tmp.resolve("root").toString(), "127.0.0.1:0").withAllowProfiling(true));
    return server.tcpAddress();
  }

  private static List<Recording> ours() {
    return FlightRecorder.getFlightRecorder().getRecordings().stream().filter(r -> NAME.equals(r.getName())).toList();
  }

  private static void awaitRecording(RecordingState state) throws InterruptedException {
    while (ours().stream().noneMatch(r -> r.getState() == state)) {
      Thread.sleep(20);
    }
  }

  @Test
  void theRecordingHoldsNoEnvironmentArgumentsOrHostProcesses() throws Exception {
    InetSocketAddress address = start();
    RawHttp.Response r = RawHttp.get(address, "/runsc-metrics/profile-cpu?seconds=1");
    assertThat(r.status()).as(r.text()).isEqualTo(200);
    Path file = tmp.resolve("p.jfr");
    Files.write(file, r.body());

    Set<String> types = new HashSet<>();
    for (RecordedEvent e : RecordingFile.readAllEvents(file)) {
      types.add(e.getEventType().getName());
    }
    // A real recording: which periodic events land in one second depends on the machine's load, so any.
    assertThat(types).as("a real recording").anyMatch(type -> type.startsWith("jdk."));
    assertThat(types)
        .doesNotContain(
            "jdk.InitialEnvironmentVariable",
            "jdk.InitialSystemProperty",
            "jdk.JVMInformation",
            "jdk.SystemProcess",
            "jdk.ProcessStart",
            "jdk.InitialSecurityProperty");
    String bytes = new String(r.body(), StandardCharsets.ISO_8859_1);
    assertThat(bytes).as("the PATH variable's value").doesNotContain(System.getenv("PATH"));
    assertThat(bytes).as("the class path").doesNotContain(System.getProperty("java.class.path"));
    assertThat(ours()).isEmpty();
  }

  /**
   * The recording asks for 30 s; everything here, the server's shutdown included, must be over long before:
   * a recording that ran its course (the disconnect unnoticed) or a shutdown that waited for the abandoned
   * request (it once did, for its whole 35 s grace period) fails the test instead of only slowing it.
   */
  @Test
  @Timeout(20)
  void oneRecordingAtATimeAndADisconnectStopsIt() throws Exception {
    InetSocketAddress address = start();
    RawHttp first = RawHttp.tcp(address);
    first.send("GET", "/runsc-metrics/profile-cpu?seconds=30", null);
    awaitRecording(RecordingState.RUNNING);

    RawHttp.Response second = RawHttp.get(address, "/runsc-metrics/profile-cpu?seconds=1");
    assertThat(second.status()).isEqualTo(429);

    first.close();
    long stopBy = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!ours().isEmpty()) {
      assertThat(System.nanoTime()).as("the recording stopped well before its 30 s").isLessThan(stopBy);
      Thread.sleep(20);
    }
    // The recording leaves JFR's list inside its close(); the endpoint frees its slot just after that, on the
    // worker that closed it, so a request in between may still get a 429. It must get through soon after.
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    RawHttp.Response after = RawHttp.get(address, "/runsc-metrics/profile-cpu?seconds=1");
    while (after.status() == 429 && System.nanoTime() < deadline) {
      Thread.sleep(20);
      after = RawHttp.get(address, "/runsc-metrics/profile-cpu?seconds=1");
    }
    assertThat(after.status()).as("a new recording once the abandoned one stopped").isEqualTo(200);

    // Shutdown waits for requests in flight; the abandoned one is not (its client is gone).
    server.shutdown();
    assertThat(server.awaitTermination()).isEqualTo(MetricServer.Termination.REQUESTED);
  }
}
