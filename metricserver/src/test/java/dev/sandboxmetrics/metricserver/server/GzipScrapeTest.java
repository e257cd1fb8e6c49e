package dev.sandboxmetrics.metricserver.server;

import static dev.sandboxmetrics.metricserver.testing.Scrapes.sandboxesWithData;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sandboxmetrics.metricserver.http.GzipBodies;
import dev.sandboxmetrics.metricserver.testing.RawHttp;
import dev.sandboxmetrics.simulator.Profile;
import dev.sandboxmetrics.simulator.SandboxSpec;
import dev.sandboxmetrics.simulator.Simulator;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code /metrics} with gzip, over real sockets against simulated bench sandboxes: a large body is
 * compressed in parts on several threads and still arrives as one gzip member (what curl insists on) holding
 * the same series as the plain body; a small body is one part. Decompressed with a strict single-member
 * reader and with Java's {@code GZIPInputStream}.
 */
@Timeout(120)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class GzipScrapeTest {
  /** ~26 KB of text each: ~0.6 MB in all, several slices of 128 KB. */
  private static final int SANDBOXES = 24;

  @TempDir static Path tmp;
  private Simulator sim;
  private MetricServer server;
  private InetSocketAddress tcp;

  @BeforeAll
  void start() throws Exception {
    Path root = tmp.resolve("root");
    sim = Simulator.start(root, "127.0.0.1:0");
    for (int i = 0; i < SANDBOXES; i++) {
      sim.createRunning(SandboxSpec.builder(String.format("s%02d", i)).profile(Profile.BENCH).build());
    }
    server = MetricServer.start(MetricServerOptions.of(root.toString(), "127.0.0.1:0"));
    tcp = server.tcpAddress();
  }

  @AfterAll
  void stop() throws Exception {
    server.shutdown();
    sim.close();
  }

  @Test
  void largeBodyIsOneMemberCompressedInPartsWithTheSeriesOfThePlainBody() throws Exception {
    RawHttp.Response plain = RawHttp.get(tcp, "/metrics");
    RawHttp.Response gzipped = RawHttp.get(tcp, "/metrics", "Accept-Encoding: gzip");

    assertThat(plain.header("content-encoding")).isNull();
    assertThat(gzipped.status()).isEqualTo(200);
    assertThat(gzipped.header("content-encoding")).isEqualTo("gzip");
    byte[] body = gzipped.body();
    String text = new String(GzipBodies.singleMember(body), StandardCharsets.UTF_8);
    assertThat(text).isEqualTo(gzipped.text()); // GZIPInputStream reads the same
    assertThat(text.length()).isGreaterThan(4 * 128 * 1024);
    assertThat(body.length).isLessThan(text.length() / 8);
    assertThat(GzipBodies.syncFlushes(body)).as("part boundaries (sync flushes)").isGreaterThanOrEqualTo(3);
    // Values move between two scrapes; the series (names and labels) and the lines around them do not.
    assertThat(series(text)).isEqualTo(series(plain.text()));
    assertThat(sandboxesWithData(text, "runsc_")).hasSize(SANDBOXES);
    assertThat(text).endsWith("# End of metric data.\n");
  }

  @Test
  void smallBodyIsOnePart() throws Exception {
    RawHttp.Response gzipped = RawHttp.get(tcp, "/metrics?sandbox=s03", "Accept-Encoding: gzip");

    assertThat(gzipped.header("content-encoding")).isEqualTo("gzip");
    String text = new String(GzipBodies.singleMember(gzipped.body()), StandardCharsets.UTF_8);
    assertThat(sandboxesWithData(text, "runsc_")).containsExactly("s03");
    assertThat(GzipBodies.syncFlushes(gzipped.body())).isZero();
  }

  @Test
  void qualityZeroForGzipMeansPlainText() throws Exception {
    RawHttp.Response r = RawHttp.get(tcp, "/metrics", "Accept-Encoding: gzip;q=0, identity");

    assertThat(r.header("content-encoding")).isNull();
    assertThat(new String(r.body(), StandardCharsets.UTF_8)).endsWith("# End of metric data.\n");
  }

  @Test
  void otherEndpointsAreStillCompressedByThePipeline() throws Exception {
    RawHttp.Response r = RawHttp.get(tcp, "/sandboxes?format=json", "Accept-Encoding: gzip");

    assertThat(r.status()).isEqualTo(200);
    assertThat(r.header("content-encoding")).isEqualTo("gzip");
    assertThat(r.text()).contains("s03");
  }

  /** Every line with sample values and timestamps cut off: what must not change between two scrapes. */
  private static List<String> series(String exposition) {
    return exposition.lines()
        .filter(l -> !l.startsWith("# Writing") && !l.startsWith("#   - Snapshot"))
        .map(l -> l.isEmpty() || l.startsWith("#") ? l : l.substring(0, l.contains("}") ? l.lastIndexOf('}') + 1 : l.indexOf(' ')))
        .collect(Collectors.toList());
  }
}
