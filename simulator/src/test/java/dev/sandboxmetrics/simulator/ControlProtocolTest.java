package dev.sandboxmetrics.simulator;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.IntNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.TextNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The uRPC conversation with a healthy simulated sandbox, over its real control socket. */
@Timeout(60)
class ControlProtocolTest {
  @TempDir Path tmp;
  Simulator sim;

  @BeforeEach
  void startSimulator() throws IOException {
    sim = Simulator.start(tmp.resolve("root"), "localhost:1337");
  }

  @AfterEach
  void closeSimulator() {
    sim.close();
  }

  @Test
  void exportAnswersWithARecentSnapshotOfRegisteredMetrics() throws IOException {
    SimulatedSandbox sb = sim.createRunning(SandboxSpec.builder("s1").build());
    try (PlainClient c = PlainClient.connect(sb.controlSocket())) {
      Instant before = Instant.now();
      JsonNode reply = c.export("");
      assertThat(reply.get("success").asBoolean()).isTrue();
      assertThat(reply.get("err").asText()).isEmpty();
      JsonNode snapshot = reply.path("result").path("snapshot");
      Instant when = OffsetDateTime.parse(snapshot.get("when").asText()).toInstant();
      assertThat(when).isBetween(before.minusMillis(1), Instant.now());
      Set<String> registered = registeredNames(sb);
      assertThat(snapshot.get("data")).isNotEmpty();
      for (JsonNode d : snapshot.get("data")) {
        assertThat(registered).contains(d.path("metric").path("name").asText());
      }
    }
  }

  @Test
  void getRegisteredMetricsAnswersWhatTheStateFileHolds() throws IOException {
    SimulatedSandbox sb = sim.createRunning(SandboxSpec.builder("s1").build());
    JsonNode state = PlainClient.JSON.readTree(sb.stateFile().toFile());
    try (PlainClient c = PlainClient.connect(sb.controlSocket())) {
      JsonNode reply = c.call("Metrics.GetRegisteredMetrics", NullNode.instance);
      assertThat(reply.get("success").asBoolean()).isTrue();
      assertThat(reply.path("result").get("RegisteredMetrics"))
          .isEqualTo(state.path("sandbox").get("registeredMetrics"));
    }
  }

  @Test
  void theFilterKeepsNamesItMatchesAnywhere() throws IOException {
    SimulatedSandbox sb = sim.createRunning(SandboxSpec.builder("s1").build());
    try (PlainClient c = PlainClient.connect(sb.controlSocket())) {
      List<String> unanchored = names(c.export("read"));
      assertThat(unanchored).isNotEmpty().allMatch(n -> n.contains("read"));
      assertThat(unanchored).contains("fs_reads", "fs_read_wait", "gofer_reads_host", "fs_read_latency");

      List<String> anchored = names(c.export("^fs_read"));
      assertThat(anchored).isNotEmpty().allMatch(n -> n.startsWith("fs_read"));
      assertThat(anchored).doesNotContain("gofer_reads_host");

      assertThat(c.export("no_such_metric").path("result").path("snapshot").has("data")).isFalse();
    }
  }

  @Test
  void invalidFilterIsAnErrorReplyAndTheConnectionGoesOn() throws IOException {
    SimulatedSandbox sb = sim.createRunning(SandboxSpec.builder("s1").build());
    try (PlainClient c = PlainClient.connect(sb.controlSocket())) {
      JsonNode reply = c.export("fs_(");
      assertThat(reply.get("success").asBoolean()).isFalse();
      assertThat(reply.get("err").asText()).startsWith("cannot compile regexp \"fs_(\"");
      assertThat(reply.get("result").isNull()).isTrue();
      assertThat(c.export("").get("success").asBoolean()).isTrue();
    }
  }

  @Test
  void unknownMethodsAndBadArgumentsGetGoErrorReplies() throws IOException {
    SimulatedSandbox sb = sim.createRunning(SandboxSpec.builder("s1").build());
    try (PlainClient c = PlainClient.connect(sb.controlSocket())) {
      JsonNode unknown = c.call("containerManager.Nope", NullNode.instance);
      assertThat(unknown.get("success").asBoolean()).isFalse();
      assertThat(unknown.get("err").asText()).isEqualTo("unknown method");

      JsonNode numberArg = c.call("Metrics.Export", IntNode.valueOf(5));
      assertThat(numberArg.get("err").asText())
          .isEqualTo("json: cannot unmarshal number into Go value of type control.MetricsExportOpts");

      c.send("{\"method\":\"Metrics.Export\",\"arg\":{\"only_metrics\":7}}");
      assertThat(c.readReply().get("err").asText()).contains("only_metrics of type string");

      c.send("{\"method\":\"Metrics.Export\"}");
      assertThat(c.readReply().get("err").asText()).isEqualTo("unexpected end of JSON input");

      // Go matches keys case-insensitively; a null filter is no filter.
      c.send("{\"METHOD\":\"Metrics.Export\",\"Arg\":{\"Only_Metrics\":null}}");
      assertThat(c.readReply().get("success").asBoolean()).isTrue();

      assertThat(c.call("Metrics.Export", new TextNode("x")).get("success").asBoolean()).isFalse();
    }
  }

  @Test
  void aCallGoCannotDecodeDropsTheConnection() throws IOException {
    SimulatedSandbox sb = sim.createRunning(SandboxSpec.builder("s1").build());
    try (PlainClient c = PlainClient.connect(sb.controlSocket())) {
      c.send("[1,2,3]");
      assertThat(c.readToEnd()).isEmpty();
    }
    try (PlainClient c = PlainClient.connect(sb.controlSocket())) {
      c.send("{\"method\":42,\"arg\":{}}");
      assertThat(c.readToEnd()).isEmpty();
    }
    try (PlainClient c = PlainClient.connect(sb.controlSocket())) {
      c.send("{\"method\":\"Metrics.Export\" nonsense}");
      assertThat(c.readToEnd()).isEmpty();
    }
  }

  @Test
  void severalCallsOnOneConnectionEvenWhenSentTogether() throws IOException {
    SimulatedSandbox sb = sim.createRunning(SandboxSpec.builder("s1").build());
    try (PlainClient c = PlainClient.connect(sb.controlSocket())) {
      for (int i = 0; i < 5; i++) {
        assertThat(c.export("").get("success").asBoolean()).isTrue();
      }
      // Pipelined: three calls in one write, no separators, as a JSON stream allows.
      c.send("{\"method\":\"Metrics.Export\",\"arg\":{\"only_metrics\":\"^fs_opens$\"}}"
          + "{\"method\":\"Metrics.GetRegisteredMetrics\",\"arg\":null}"
          + "{\"method\":\"Nope\",\"arg\":null}");
      assertThat(names(c.readReply())).containsExactly("fs_opens");
      assertThat(c.readReply().path("result").has("RegisteredMetrics")).isTrue();
      assertThat(c.readReply().get("err").asText()).isEqualTo("unknown method");
    }
  }

  @Test
  void manyConnectionsAtOnce() throws IOException {
    SimulatedSandbox sb = sim.createRunning(SandboxSpec.builder("s1").build());
    List<PlainClient> clients = new ArrayList<>();
    try {
      for (int i = 0; i < 64; i++) {
        clients.add(PlainClient.connect(sb.controlSocket()));
      }
      for (PlainClient c : clients) {
        c.send("{\"method\":\"Metrics.Export\",\"arg\":{}}");
      }
      for (PlainClient c : clients) {
        assertThat(c.readReply().get("success").asBoolean()).isTrue();
      }
      assertThat(sb.openConnections()).isEqualTo(64);
    } finally {
      for (PlainClient c : clients) {
        c.close();
      }
    }
  }

  @Test
  void countersNeverDecreaseHistogramsAccumulateAndGaugesMove() throws IOException {
    SimulatedSandbox sb = sim.createRunning(SandboxSpec.builder("s1").build());
    Map<String, Long> counters = new HashMap<>();
    Map<String, Long> histogramCounts = new HashMap<>();
    Set<Long> establishedSeen = new HashSet<>();
    try (PlainClient c = PlainClient.connect(sb.controlSocket())) {
      for (int call = 0; call < 20; call++) {
        for (JsonNode d : c.export("").path("result").path("snapshot").path("data")) {
          String key = d.path("metric").path("name").asText() + d.path("labels");
          int type = d.path("metric").path("type").asInt();
          if (type == 2) {
            long v = d.path("val").path("int").asLong();
            assertThat(v).as("counter %s", key).isGreaterThanOrEqualTo(counters.getOrDefault(key, 0L));
            counters.put(key, v);
          } else if (type == 3) {
            long n = 0;
            for (JsonNode b : d.path("histogram").path("buckets")) {
              n += b.path("n").asLong();
            }
            assertThat(n).as("samples of %s", key).isGreaterThanOrEqualTo(histogramCounts.getOrDefault(key, 0L));
            histogramCounts.put(key, n);
          } else if (key.startsWith("netstack_tcp_current_established")) {
            establishedSeen.add(d.path("val").path("int").asLong());
          }
        }
      }
    }
    assertThat(counters).containsKey("fs_opens");
    assertThat(histogramCounts).containsKey("fs_read_latency");
    assertThat(establishedSeen).hasSizeGreaterThan(1);
  }

  @Test
  void zeroCountersAndEmptyHistogramsAreLeftOutButZeroGaugesAreNot() throws IOException {
    SimulatedSandbox sb = sim.createRunning(SandboxSpec.builder("s1").build());
    try (PlainClient c = PlainClient.connect(sb.controlSocket())) {
      JsonNode data = c.export("").path("result").path("snapshot").path("data");
      List<String> keys = new ArrayList<>();
      for (JsonNode d : data) {
        keys.add(d.path("metric").path("name").asText() + d.path("labels"));
      }
      assertThat(registeredNames(sb)).contains("gofer_opens_9p", "netstack_dropped_packets");
      assertThat(keys).noneMatch(k -> k.startsWith("gofer_opens_9p") || k.startsWith("netstack_dropped_packets"));
      assertThat(keys).contains("fs_read_sizes{\"fs\":\"gofer\"}").doesNotContain("fs_read_sizes{\"fs\":\"proc\"}");
      assertThat(keys).contains("memory_usage_bytes{\"category\":\"ramdiskfs\"}");
      // Exactly two of the 25 allowed syscall numbers are ever used.
      assertThat(keys.stream().filter(k -> k.startsWith("unimplemented_syscalls"))).hasSize(2);
    }
  }

  @Test
  void histogramsEncodeTheOverflowBoundAsInfinityAndZeroAsEmptyObject() throws IOException {
    SimulatedSandbox sb = sim.createRunning(SandboxSpec.builder("s1").build());
    try (PlainClient c = PlainClient.connect(sb.controlSocket())) {
      c.send("{\"method\":\"Metrics.Export\",\"arg\":{\"only_metrics\":\"^fs_read_latency$\"}}");
      String raw = new String(readOneObject(c.input()), StandardCharsets.UTF_8);
      assertThat(raw).contains("{\"le\":{\"float\":Infinity}").contains("\"buckets\":[{\"le\":{}");
      assertThat(raw).contains("\"type\":3").contains("\"ssd\":{\"float\":");
    }
  }

  @Test
  void benchProfileServesTheBenchWorkloadWithAFreshTime() throws IOException {
    SimulatedSandbox sb = sim.createRunning(SandboxSpec.builder("b1").profile(Profile.BENCH).build());
    JsonNode expected =
        PlainClient.JSON.readTree(repoRoot().resolve("testdata/bench/snapshot-175.json").toFile());
    JsonNode expectedRegistration =
        PlainClient.JSON.readTree(repoRoot().resolve("testdata/bench/registration-175.json").toFile());
    try (PlainClient c = PlainClient.connect(sb.controlSocket())) {
      JsonNode first = c.export("").path("result").path("snapshot");
      JsonNode second = c.export("").path("result").path("snapshot");
      assertThat(first.get("data")).isEqualTo(expected.get("data"));
      assertThat(second.get("data")).isEqualTo(expected.get("data"));
      assertThat(first.get("data")).hasSize(175);
      Instant t1 = OffsetDateTime.parse(first.get("when").asText()).toInstant();
      Instant t2 = OffsetDateTime.parse(second.get("when").asText()).toInstant();
      assertThat(t2).isAfterOrEqualTo(t1);
      assertThat(t1).isAfter(Instant.now().minusSeconds(5));
      assertThat(names(c.export("^latency_"))).containsExactly("latency_0_nanoseconds", "latency_1_nanoseconds");
      assertThat(c.call("Metrics.GetRegisteredMetrics", NullNode.instance).path("result").get("RegisteredMetrics"))
          .isEqualTo(expectedRegistration);
    }
  }

  @Test
  void aControlSocketPathTooLongForSockaddrStillWorks() throws IOException {
    Path deep = tmp.resolve("sockets");
    while (deep.toString().length() < 130) {
      deep = deep.resolve("a-rather-long-directory-name");
    }
    Path socket = deep.resolve("runsc-long.sock");
    SimulatedSandbox sb =
        sim.createRunning(SandboxSpec.builder("long").controlSocketPath(socket).build());
    assertThat(socket.toString().getBytes(StandardCharsets.UTF_8).length).isGreaterThan(108);
    assertThat(PlainClient.JSON.readTree(sb.stateFile().toFile()).path("sandbox").path("controlSocketPath").asText())
        .isEqualTo(socket.toString());
    try (PlainClient c = PlainClient.connect(socket)) {
      assertThat(c.export("").get("success").asBoolean()).isTrue();
    }
    sim.close();
    assertThat(tmp.resolve("sockets")).doesNotExist();
  }

  @Test
  void aStaleRecordedSocketPathLeavesTheDefaultOneAnswering() throws IOException {
    SimulatedSandbox sb =
        sim.createRunning(
            SandboxSpec.builder("moved").recordedControlSocketPath("/nonexistent/runsc-moved.sock").build());
    JsonNode state = PlainClient.JSON.readTree(sb.stateFile().toFile());
    assertThat(state.path("sandbox").path("controlSocketPath").asText()).isEqualTo("/nonexistent/runsc-moved.sock");
    Path fallback = sim.root().resolve("runsc-moved.sock");
    assertThat(sb.controlSocket()).isEqualTo(fallback);
    try (PlainClient c = PlainClient.connect(fallback)) {
      assertThat(c.export("").get("success").asBoolean()).isTrue();
    }
  }

  static List<String> names(JsonNode reply) {
    List<String> out = new ArrayList<>();
    for (JsonNode d : reply.path("result").path("snapshot").path("data")) {
      out.add(d.path("metric").path("name").asText());
    }
    return out;
  }

  static Set<String> registeredNames(SimulatedSandbox sb) {
    Set<String> out = new HashSet<>();
    sb.registration().metrics().forEach(m -> out.add(m.prometheusName()));
    return out;
  }

  /** The bytes of one top-level JSON object, read one at a time (the reply holds no braces in strings). */
  static byte[] readOneObject(InputStream in) throws IOException {
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    int depth = 0;
    boolean inString = false;
    boolean escaped = false;
    int b;
    while ((b = in.read()) >= 0) {
      out.write(b);
      if (inString) {
        if (escaped) {
          escaped = false;
        } else if (b == '\\') {
          escaped = true;
        } else if (b == '"') {
          inString = false;
        }
      } else if (b == '"') {
        inString = true;
      } else if (b == '{') {
        depth++;
      } else if (b == '}' && --depth == 0) {
        break;
      }
    }
    return out.toByteArray();
  }

  static Path repoRoot() {
    String prop = System.getProperty("sandboxmetrics.repo.root");
    Path dir = prop != null ? Path.of(prop) : Path.of("").toAbsolutePath();
    while (dir != null && !Files.isDirectory(dir.resolve("testdata"))) {
      dir = dir.getParent();
    }
    if (dir == null) {
      throw new IllegalStateException("cannot find the repository root (a directory holding testdata/)");
    }
    return dir;
  }

  static final Pattern RFC3339_NANO =
      Pattern.compile("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(\\.\\d{1,9})?(Z|[+-]\\d\\d:\\d\\d)");
}
