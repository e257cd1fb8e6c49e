package dev.sandboxmetrics.metricserver.registry;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sandboxmetrics.runsc.discovery.ContainerState;
import dev.sandboxmetrics.runsc.discovery.RootDirectory;
import dev.sandboxmetrics.simulator.state.ContainerRecord;
import dev.sandboxmetrics.simulator.state.StateFiles;
import dev.sandboxmetrics.snapshot.MetricMetadata;
import dev.sandboxmetrics.snapshot.Registration;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the registry keeps per served sandbox, read from real state files. */
class SandboxRegistryTest {
  private static final String ADDRESS = "localhost:1337";
  private static final Registration REGISTRATION = new Registration(
      List.of(new MetricMetadata("/fs/opens", "fs_opens", "Opens.", true, false, 0, 0, List.of(), List.of())),
      List.of());
  private static final Map<String, String> SYSTRAP = Map.of("version", "release-1", "platform", "systrap");
  private static final Map<String, String> KVM = Map.of("version", "release-1", "platform", "kvm");

  @TempDir Path root;

  @Test
  void sandboxesWithEqualMetadataShareOneCopyAndOthersKeepTheirOwn() throws Exception {
    write("s1", SYSTRAP);
    write("s2", SYSTRAP);
    write("s3", KVM);
    write("s4", SYSTRAP);

    List<ServedSandbox> served = new SandboxRegistry(new RootDirectory(root), root.toString(), ADDRESS, false).scan();

    assertThat(served).extracting(ServedSandbox::id).containsExactly("s1", "s2", "s3", "s4");
    Map<String, String> s1 = served.get(0).facts().metricMetadata();
    assertThat(s1).isEqualTo(SYSTRAP);
    assertThat(served.get(1).facts().metricMetadata()).isSameAs(s1);
    assertThat(served.get(2).facts().metricMetadata()).isEqualTo(KVM);
    assertThat(served.get(3).facts().metricMetadata()).isEqualTo(SYSTRAP);
    assertThat(served.get(1).facts().specMetadata()).isSameAs(served.get(0).facts().specMetadata());
    assertThat(served.get(1).facts().capabilities()).isSameAs(served.get(0).facts().capabilities());
    for (ServedSandbox s : served) {
      assertThat(s.verifier()).as(s.id()).isNotNull();
      assertThat(s.labels().get("sandbox")).isEqualTo(s.id());
    }
  }

  private void write(String id, Map<String, String> metricMetadata) throws Exception {
    Instant created = Instant.parse("2026-01-02T03:04:05Z");
    ContainerRecord.Sandbox sandbox = new ContainerRecord.Sandbox(
        id, "pod-" + id, "default", ProcessHandle.current().pid(), 0, 0, null, REGISTRATION, metricMetadata,
        ADDRESS, root.resolve("runsc-" + id + ".sock").toString(), created, ContainerState.Checkpoint.NONE);
    List<String> caps = List.of("CAP_CHOWN", "CAP_KILL");
    ContainerRecord container = new ContainerRecord(
        id, id, created, "running", "1.0.2", 0, 0, List.of("/pause"),
        new ContainerState.Capabilities(caps, caps, List.of(), caps, List.of()),
        Map.of(), "pod-" + id, sandbox);
    StateFiles.write(root, container, ZoneOffset.UTC);
  }
}
