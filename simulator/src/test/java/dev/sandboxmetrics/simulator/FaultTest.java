package dev.sandboxmetrics.simulator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import dev.sandboxmetrics.snapshot.Registration;
import dev.sandboxmetrics.snapshot.Snapshot;
import dev.sandboxmetrics.snapshot.json.ExportReply;
import dev.sandboxmetrics.snapshot.json.RunscJson;
import dev.sandboxmetrics.snapshot.json.RunscJsonException;
import dev.sandboxmetrics.snapshot.verify.VerificationException;
import dev.sandboxmetrics.snapshot.verify.Verifier;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Every fault mode does what it says, and healthy sandboxes pass the project's verifier call after call.
 * Content faults are judged by that verifier, with the registration from the state file, as the metric
 * server will judge them.
 */
@Timeout(120)
class FaultTest {
  private static final String EXPORT = "{\"method\":\"Metrics.Export\",\"arg\":{\"only_metrics\":\"\"}}";

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

  @ParameterizedTest
  @EnumSource(Profile.class)
  void healthySandboxesPassTheVerifierCallAfterCall(Profile profile) throws Exception {
    SimulatedSandbox sb = sim.createRunning(SandboxSpec.builder("s1").profile(profile).build());
    Verifier verifier = Verifier.forRegistration(trustedRegistration(sb));
    try (PlainClient c = PlainClient.connect(sb.controlSocket())) {
      for (int i = 0; i < 10; i++) {
        String filter = i % 3 == 2 ? "count|latency|fs_" : "";
        c.send(call(filter));
        Snapshot s = decode(c);
        assertThat(s.data()).isNotEmpty();
        verifier.verify(s, Instant.now());
      }
    }
  }

  @ParameterizedTest
  @EnumSource(
      value = Fault.class,
      names = {"UNKNOWN_METRIC", "BAD_FIELD_VALUE", "COUNTER_DECREASE", "BAD_BUCKETS", "FUTURE", "TOO_OLD"})
  void contentFaultsAreRejectedByTheVerifier(Fault fault) throws Exception {
    for (Profile profile : Profile.values()) {
      SimulatedSandbox sb = sim.createRunning(SandboxSpec.builder("s-" + profile + "-" + fault).profile(profile).build());
      Verifier verifier = Verifier.forRegistration(trustedRegistration(sb));
      try (PlainClient c = PlainClient.connect(sb.controlSocket())) {
        c.send(EXPORT);
        verifier.verify(decode(c), Instant.now());
        sb.setFault(fault);
        for (int i = 0; i < 2; i++) {
          c.send(EXPORT);
          Snapshot bad = decode(c);
          assertThatThrownBy(() -> verifier.verify(bad, Instant.now()))
              .as("%s with %s", fault, profile)
              .isInstanceOf(VerificationException.class)
              .hasMessageContaining(expectedComplaint(fault));
        }
        sb.setFault(Fault.NONE);
        c.send(EXPORT);
        Snapshot healthyAgain = decode(c);
        if (fault != Fault.COUNTER_DECREASE) {
          // Healthy again: nothing bad was accepted, so nothing bad is remembered. (A lowered counter stays
          // below what was last accepted until it grows past it: that sandbox stays broken for a while.)
          verifier.verify(healthyAgain, Instant.now());
        }
      }
    }
  }

  @Test
  void contentFaultsShowEvenWhenTheFilterExcludesTheirTarget() throws Exception {
    SimulatedSandbox sb = sim.createRunning(SandboxSpec.builder("s1").fault(Fault.BAD_BUCKETS).build());
    try (PlainClient c = PlainClient.connect(sb.controlSocket())) {
      c.send(call("^fs_opens$"));
      Snapshot s = decode(c);
      assertThat(s.data()).anyMatch(d -> d.histogram() != null);
    }
  }

  @Test
  void ignoreFilterReturnsMetricsOutsideOnlyMetrics() throws IOException {
    SimulatedSandbox sb = sim.createRunning(SandboxSpec.builder("s1").fault(Fault.IGNORE_FILTER).build());
    try (PlainClient c = PlainClient.connect(sb.controlSocket())) {
      assertThat(ControlProtocolTest.names(c.export("^fs_opens$")))
          .contains("fs_opens", "fs_reads", "netstack_nic_tx_packets");
      sb.setFault(Fault.NONE);
      assertThat(ControlProtocolTest.names(c.export("^fs_opens$"))).containsExactly("fs_opens");
    }
  }

  @Test
  void stallAcceptsAndReadsButNeverAnswers() throws IOException, InterruptedException {
    SimulatedSandbox sb = sim.createRunning(SandboxSpec.builder("s1").fault(Fault.STALL).build());
    try (PlainClient c = PlainClient.connect(sb.controlSocket())) {
      c.send(EXPORT);
      c.send(EXPORT);
      assertThat(c.answersWithin(Duration.ofMillis(500))).isFalse();
      assertThat(awaitConnections(sb, 1)).isEqualTo(1);
    }
    // The client gave up; the stalled sandbox notices and lets the connection go.
    assertThat(awaitConnections(sb, 0)).isZero();
  }

  @Test
  void slowAnswersCorrectlyAfterTheDelay() throws Exception {
    SimulatedSandbox sb =
        sim.createRunning(SandboxSpec.builder("s1").fault(Fault.SLOW).slowDelay(Duration.ofMillis(700)).build());
    Verifier verifier = Verifier.forRegistration(trustedRegistration(sb));
    try (PlainClient c = PlainClient.connect(sb.controlSocket())) {
      long start = System.nanoTime();
      c.send(EXPORT);
      Snapshot s = decode(c);
      assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofMillis(700));
      verifier.verify(s, Instant.now());
    }
  }

  @Test
  void closeHangsUpWithoutAWord() throws IOException {
    SimulatedSandbox sb = sim.createRunning(SandboxSpec.builder("s1").fault(Fault.CLOSE).build());
    try (PlainClient c = PlainClient.connect(sb.controlSocket())) {
      c.send(EXPORT);
      assertThat(c.readToEnd()).isEmpty();
    }
  }

  @Test
  void garbageIsBalancedButNotJson() throws IOException {
    SimulatedSandbox sb = sim.createRunning(SandboxSpec.builder("s1").fault(Fault.GARBAGE).build());
    try (PlainClient c = PlainClient.connect(sb.controlSocket())) {
      c.send(EXPORT);
      byte[] raw = ControlProtocolTest.readOneObject(c.input());
      assertThat(raw[raw.length - 1]).isEqualTo((byte) '}');
      assertThatThrownBy(() -> PlainClient.JSON.readTree(raw)).isInstanceOf(IOException.class);
      assertThatThrownBy(() -> RunscJson.readExportReply(raw, 0, raw.length)).isInstanceOf(RunscJsonException.class);
      // The connection stays open: a client must not wait for the end of the stream to see the problem.
      assertThat(sb.openConnections()).isEqualTo(1);
    }
  }

  @Test
  void truncatedSendsHalfAReplyThenHangsUp() throws IOException {
    SimulatedSandbox sb = sim.createRunning(SandboxSpec.builder("s1").fault(Fault.TRUNCATED).build());
    try (PlainClient c = PlainClient.connect(sb.controlSocket())) {
      c.send(EXPORT);
      String raw = new String(c.readToEnd(), StandardCharsets.UTF_8);
      assertThat(raw).startsWith("{\"success\":true,\"err\":\"\",\"result\":{\"snapshot\":{\"when\":\"");
      assertThat(raw.length()).isGreaterThan(100);
      assertThatThrownBy(() -> PlainClient.JSON.readTree(raw)).isInstanceOf(IOException.class);
    }
  }

  @Test
  void oversizedStreamsAWellFormedReplyOfMoreThanAHundredMegabytes() throws IOException {
    SimulatedSandbox sb = sim.createRunning(SandboxSpec.builder("s1").fault(Fault.OVERSIZED).build());
    try (PlainClient c = PlainClient.connect(sb.controlSocket())) {
      c.send(EXPORT);
      CountingInputStream counted = new CountingInputStream(c.input());
      try (JsonParser p = PlainClient.JSON.getFactory().createParser(counted)) {
        assertThat(p.nextToken()).isEqualTo(JsonToken.START_OBJECT);
        p.skipChildren();
        assertThat(p.currentToken()).isEqualTo(JsonToken.END_OBJECT);
      }
      assertThat(counted.count).isGreaterThanOrEqualTo(128L << 20);
    }
  }

  @Test
  void aClientMayHangUpInTheMiddleOfAnOversizedReply() throws Exception {
    SimulatedSandbox sb =
        sim.createRunning(SandboxSpec.builder("s1").fault(Fault.OVERSIZED).oversizedBytes(64L << 20).build());
    try (PlainClient c = PlainClient.connect(sb.controlSocket())) {
      c.send(EXPORT);
      assertThat(PlainClient.bytes(c.input(), 1 << 20).length).isGreaterThanOrEqualTo(1 << 20);
    }
    sb.setFault(Fault.NONE);
    try (PlainClient c = PlainClient.connect(sb.controlSocket())) {
      c.send(EXPORT);
      assertThat(decode(c).data()).isNotEmpty();
    }
  }

  @Test
  void errorAnswersSuccessFalse() throws IOException {
    SimulatedSandbox sb = sim.createRunning(SandboxSpec.builder("s1").fault(Fault.ERROR).build());
    try (PlainClient c = PlainClient.connect(sb.controlSocket())) {
      JsonNode reply = c.export("");
      assertThat(reply.get("success").asBoolean()).isFalse();
      assertThat(reply.get("err").asText()).contains("s1");
      assertThat(reply.get("result").isNull()).isTrue();
    }
  }

  @Test
  void theFaultCanChangeWhileTheSandboxRuns() throws IOException {
    SimulatedSandbox sb = sim.createRunning(SandboxSpec.builder("s1").build());
    try (PlainClient c = PlainClient.connect(sb.controlSocket())) {
      assertThat(c.export("").get("success").asBoolean()).isTrue();
      sb.setFault(Fault.ERROR);
      assertThat(c.export("").get("success").asBoolean()).isFalse();
      sb.setFault(Fault.NONE);
      assertThat(c.export("").get("success").asBoolean()).isTrue();
    }
    assertThat(sb.fault()).isEqualTo(Fault.NONE);
  }

  @Test
  void everyFaultHasAStableCommandLineName() {
    Set<String> names = new HashSet<>();
    for (Fault f : Fault.values()) {
      assertThat(f.cliName()).matches("[a-z]+(-[a-z]+)*");
      assertThat(Fault.parse(f.cliName())).isSameAs(f);
      assertThat(Fault.parse(f.name())).isSameAs(f);
      names.add(f.cliName());
    }
    assertThat(names)
        .contains("stall", "slow", "close", "garbage", "truncated", "oversized", "error", "unknown-metric",
            "bad-field-value", "counter-decrease", "bad-buckets", "future", "too-old", "ignore-filter");
    assertThatThrownBy(() -> Fault.parse("explode"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("explode")
        .hasMessageContaining("stall");
  }

  /** Open connections once they reach {@code expected}, or after a generous deadline. */
  private static int awaitConnections(SimulatedSandbox sb, int expected) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
    while (sb.openConnections() != expected && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    return sb.openConnections();
  }

  private static String expectedComplaint(Fault fault) {
    switch (fault) {
      case UNKNOWN_METRIC:
        return "unknown metric \"" + SandboxEndpoint.UNREGISTERED_METRIC + "\"";
      case BAD_FIELD_VALUE:
        return "value \"" + SandboxEndpoint.DISALLOWED_VALUE + "\" is not allowed";
      case COUNTER_DECREASE:
        return "counter value decreased";
      case BAD_BUCKETS:
        return "invalid upper bound for bucket 1";
      case FUTURE:
        return "from the future";
      case TOO_OLD:
        return "too old";
      default:
        throw new IllegalArgumentException(fault.toString());
    }
  }

  /** What the metric server trusts: the registration in the state file, through the project's codec. */
  static Registration trustedRegistration(SimulatedSandbox sb) throws IOException, RunscJsonException {
    JsonNode node = PlainClient.JSON.readTree(sb.stateFile().toFile()).path("sandbox").path("registeredMetrics");
    byte[] bytes = PlainClient.JSON.writeValueAsBytes(node);
    return RunscJson.readRegistration(bytes, 0, bytes.length);
  }

  /** One reply read off the socket and decoded by the project's strict codec. */
  static Snapshot decode(PlainClient c) throws IOException, RunscJsonException {
    byte[] raw = ControlProtocolTest.readOneObject(c.input());
    ExportReply reply = RunscJson.readExportReply(raw, 0, raw.length);
    assertThat(reply.success()).as("reply %s", reply.err()).isTrue();
    return reply.snapshot();
  }

  private static String call(String filter) throws IOException {
    return "{\"method\":\"Metrics.Export\",\"arg\":{\"only_metrics\":"
        + PlainClient.JSON.writeValueAsString(filter) + "}}";
  }

  private static final class CountingInputStream extends FilterInputStream {
    long count;

    CountingInputStream(InputStream in) {
      super(in);
    }

    @Override
    public int read() throws IOException {
      int b = super.read();
      if (b >= 0) {
        count++;
      }
      return b;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      int n = super.read(b, off, len);
      if (n > 0) {
        count += n;
      }
      return n;
    }
  }
}
