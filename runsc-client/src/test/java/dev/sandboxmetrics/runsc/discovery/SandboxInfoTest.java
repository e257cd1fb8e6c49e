package dev.sandboxmetrics.runsc.discovery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sandboxmetrics.snapshot.Labels;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SandboxInfoTest {
  @TempDir Path dir;

  private SandboxInfo load(String sandboxId) throws IOException {
    LoadResult<SandboxInfo> r = new RootDirectory(dir).loadSandbox(sandboxId);
    assertThat(r).isInstanceOf(LoadResult.Loaded.class);
    return ((LoadResult.Loaded<SandboxInfo>) r).value();
  }

  @Test
  void labelsOfAKubernetesPodCarryPodAndNamespace() throws IOException {
    StateFileBuilder.root("32beefcafe").pod("foopod", "foons").writeTo(dir);
    assertThat(load("32beefcafe").labels()).isEqualTo(Labels.of(
        "sandbox", "32beefcafe", "iteration", "23izhfp6n11ed", "pod_name", "foopod", "namespace_name", "foons"));
  }

  @Test
  void labelsWithoutPodLeaveOutEmptyPodAndNamespace() throws IOException {
    StateFileBuilder.root("32beefcafe").pod("", "").writeTo(dir);
    assertThat(load("32beefcafe").labels())
        .isEqualTo(Labels.of("sandbox", "32beefcafe", "iteration", "23izhfp6n11ed"));
  }

  @Test
  void iterationHashesTheRootContainersCreationTimeNotASubContainers() throws IOException {
    StateFileBuilder.root("32beefcafe").writeTo(dir);
    StateFileBuilder.container("app", "32beefcafe").subContainer()
        .createdAt("2023-01-26T00:00:00Z").writeTo(dir);
    SandboxInfo s = load("32beefcafe");
    assertThat(s.rootContainer().id()).isEqualTo("32beefcafe");
    assertThat(s.iteration()).isEqualTo("23izhfp6n11ed");
  }

  @Test
  void rootContainerIsTheOneNotAnnotatedAsSubContainerWhateverItsId() throws IOException {
    StateFileBuilder.container("pause", "pod1")
        .annotation(ContainerState.CONTAINERD_TYPE_ANNOTATION, "sandbox").writeTo(dir);
    StateFileBuilder.container("app", "pod1").subContainer().writeTo(dir);
    assertThat(load("pod1").rootContainer().id()).isEqualTo("pause");
  }

  @Test
  void crioAnnotationMarksSubContainersToo() throws IOException {
    StateFileBuilder.root("pod1").annotation(ContainerState.CRIO_TYPE_ANNOTATION, "sandbox").writeTo(dir);
    StateFileBuilder.container("app", "pod1").annotation(ContainerState.CRIO_TYPE_ANNOTATION, "container")
        .writeTo(dir);
    assertThat(load("pod1").rootContainer().id()).isEqualTo("pod1");
  }

  @Test
  void withoutAnnotationsTheContainerNamedAfterTheSandboxIsTheRoot() throws IOException {
    StateFileBuilder.root("s1").writeTo(dir);
    StateFileBuilder.container("other", "s1").writeTo(dir);
    assertThat(load("s1").rootContainer().id()).isEqualTo("s1");
  }

  @Test
  void twoAnnotatedRootsAreAnError() throws IOException {
    StateFileBuilder.container("a", "s1").annotation(ContainerState.CONTAINERD_TYPE_ANNOTATION, "sandbox")
        .writeTo(dir);
    StateFileBuilder.container("b", "s1").annotation(ContainerState.CONTAINERD_TYPE_ANNOTATION, "sandbox")
        .writeTo(dir);
    assertThatThrownBy(() -> new RootDirectory(dir).loadSandbox("s1"))
        .isInstanceOf(DiscoveryException.class)
        .hasMessageContaining("sandbox s1 has several root containers: a, b");
  }

  @Test
  void onlySubContainersIsAnError() throws IOException {
    StateFileBuilder.container("app", "s1").subContainer().writeTo(dir);
    assertThatThrownBy(() -> new RootDirectory(dir).loadSandbox("s1"))
        .isInstanceOf(DiscoveryException.class)
        .hasMessageContaining("sandbox s1 has no root container");
  }

  @Test
  void capabilitiesAreTheUnionOfAllSetsOfAllContainersInCapabilityOrder() throws IOException {
    StateFileBuilder.root("s1")
        .capabilities("bounding", "CAP_NET_RAW", "CAP_CHOWN")
        .capabilities("ambient", "CAP_BPF")
        .writeTo(dir);
    StateFileBuilder.container("app", "s1").subContainer()
        .capabilities("effective", "CAP_SYS_ADMIN", "CAP_CHOWN")
        .capabilities("inheritable", "CAP_KILL")
        .capabilities("permitted", "CAP_NOT_A_REAL_ONE", "CAP_CHECKPOINT_RESTORE")
        .writeTo(dir);
    assertThat(load("s1").capabilities()).containsExactly(
        "CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW", "CAP_SYS_ADMIN", "CAP_BPF", "CAP_CHECKPOINT_RESTORE");
  }

  @Test
  void specMetadataOfAgreeingContainers() throws IOException {
    StateFileBuilder.root("s1").uid(1000).ociVersion("1.1.0").writeTo(dir);
    StateFileBuilder.container("app", "s1").subContainer().uid(0).ociVersion("1.1.0")
        .annotation(SpecMetadata.NVPROXY_ANNOTATION, "true").writeTo(dir);
    assertThat(load("s1").specMetadata().labels()).isEqualTo(
        Map.of("hasuid0", "true", "ociversion", "1.1.0", "nvproxy", "true", "tpuproxy", "false"));
  }

  @Test
  void specMetadataOfDisagreeingContainers() throws IOException {
    StateFileBuilder.root("s1").uid(1000).ociVersion("1.0.2")
        .annotation(SpecMetadata.TPUPROXY_ANNOTATION, "true").writeTo(dir);
    StateFileBuilder.container("app", "s1").subContainer().uid(1000).ociVersion("1.1.0")
        .annotation(SpecMetadata.NVPROXY_ANNOTATION, "yes").writeTo(dir);
    assertThat(load("s1").specMetadata())
        .isEqualTo(new SpecMetadata(false, SpecMetadata.INCONSISTENT, false, true));
  }

  @Test
  void specMetadataWithoutContainersIsUnknown() {
    assertThat(SpecMetadata.of(List.of())).isEqualTo(new SpecMetadata(false, SpecMetadata.UNKNOWN, false, false));
  }

  @Test
  void aSpecWithoutProcessDoesNotRunAsRoot() throws IOException {
    StateFileBuilder b = StateFileBuilder.root("s1");
    b.spec.remove("process");
    b.writeTo(dir);
    assertThat(load("s1").specMetadata().hasUid0()).isFalse();
  }

  @Test
  void metricServerAddressMatchesAfterRuntimeRootReplacement() throws IOException {
    StateFileBuilder.root("s1").sandboxField("metricServerAddress", "%RUNTIME_ROOT%/metrics.sock").writeTo(dir);
    SandboxInfo s = load("s1");
    assertThat(s.wantsServer("/run/runsc/metrics.sock", "/run/runsc")).isTrue();
    assertThat(s.wantsServer("/run/runsc/metrics.sock", "/run/runsc/")).isFalse();
    assertThat(s.wantsServer("localhost:1337", "/run/runsc")).isFalse();
  }

  @Test
  void sandboxWithoutAddressWantsNoServer() throws IOException {
    StateFileBuilder.root("s1").writeTo(dir);
    assertThat(load("s1").wantsServer("", "/run/runsc")).isFalse();
    assertThat(load("s1").registration()).isNull();
  }

  @Test
  void checkpointAndRestoreFieldsAreRead() throws IOException {
    StateFileBuilder.root("s1")
        .sandboxField("checkpointed", true).sandboxField("restored", true)
        .sandboxField("cpuTimeSaved", 1_500_000_000L).sandboxField("wallTimeSaved", 42L)
        .sandboxField("metricMetadata", Map.of("platform", "systrap", "version", "release-2024"))
        .writeTo(dir);
    SandboxInfo s = load("s1");
    assertThat(s.checkpointed()).isTrue();
    assertThat(s.restored()).isTrue();
    assertThat(s.cpuTimeSaved()).isEqualTo(Duration.ofMillis(1500));
    assertThat(s.wallTimeSaved()).isEqualTo(Duration.ofNanos(42));
    assertThat(s.metricMetadata()).isEqualTo(Map.of("platform", "systrap", "version", "release-2024"));
  }

  @Test
  void runningSandboxIsOneWhoseProcessAnswersSignalZero() throws Exception {
    Process child = new ProcessBuilder("true").start();
    child.waitFor(10, TimeUnit.SECONDS);
    StateFileBuilder.root("alive").writeTo(dir);
    StateFileBuilder.root("killed").pid(child.pid()).writeTo(dir);
    StateFileBuilder.root("stopped").pid(0).status("stopped").writeTo(dir);

    assertThat(load("alive").isRunning()).isTrue();
    assertThat(load("killed").isRunning()).isFalse();
    assertThat(load("killed").isLeftoverOfKilledSandbox()).isTrue();
    assertThat(load("stopped").isRunning()).isFalse();
    assertThat(load("stopped").isLeftoverOfKilledSandbox()).isFalse();
  }

  @Test
  void controlSocketFallsBackToTheRootDirectory() throws IOException {
    StateFileBuilder.root("s1").sandboxField("controlSocketPath", "/elsewhere/runsc-s1.sock").writeTo(dir);
    Path fallback = dir.resolve("runsc-s1.sock");
    assertThat(load("s1").controlSocketPath()).isEqualTo(Path.of("/elsewhere/runsc-s1.sock"));
    try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
      server.bind(UnixDomainSocketAddress.of(fallback));
      assertThat(load("s1").controlSocketPath()).isEqualTo(fallback);
    } finally {
      Files.deleteIfExists(fallback);
    }
  }

  @Test
  void recordedControlSocketIsUsedWhenItExists() throws IOException {
    Path recorded = Files.createFile(dir.resolve("recorded.sock"));
    Files.createFile(dir.resolve("runsc-s1.sock"));
    StateFileBuilder.root("s1").sandboxField("controlSocketPath", recorded.toString()).writeTo(dir);
    assertThat(load("s1").controlSocketPath()).isEqualTo(recorded);
  }

  @Test
  void registrationOfTheRootContainerIsDecoded() throws IOException {
    Map<String, Object> registration = Map.of(
        "metrics", List.of(
            Map.of("name", "/fs/opens", "prometheus_name", "fs_opens", "description", "Number of file opens.",
                "cumulative", true, "sync", true),
            Map.of("name", "/sched/lat", "prometheus_name", "sched_lat", "description", "Latency.",
                "type", 1, "units", 1, "distribution_bucket_lower_bounds", List.of(0, 1, 2))),
        "stages", List.of("start", "ready"));
    StateFileBuilder.root("s1").sandboxField("metricServerAddress", "localhost:1337")
        .sandboxField("registeredMetrics", registration).writeTo(dir);
    StateFileBuilder.container("app", "s1").subContainer().writeTo(dir);
    SandboxInfo s = load("s1");
    assertThat(s.registration()).isNotNull();
    assertThat(s.registration().metrics()).extracting(m -> m.prometheusName()).containsExactly("fs_opens", "sched_lat");
    assertThat(s.registration().stages()).containsExactly("start", "ready");
  }

  @Test
  void malformedRegistrationNamesTheFileAndField() throws IOException {
    Path file = StateFileBuilder.root("s1")
        .sandboxField("registeredMetrics", Map.of("metrics", List.of(Map.of("name", 7)))).writeTo(dir);
    assertThatThrownBy(() -> new RootDirectory(dir).loadSandbox("s1"))
        .isInstanceOf(StateFileException.class)
        .hasMessageStartingWith("state file " + file + ": sandbox.registeredMetrics: ");
  }

  @Test
  void createdAtIsReadWithGosRfc3339RulesNotJavasIsoOnes() throws IOException {
    // Go ignores fraction digits past nanoseconds; java.time's ISO parser refuses them.
    StateFileBuilder.root("s1").createdAt("2023-01-26T00:00:00.1234567891Z").writeTo(dir);
    assertThat(load("s1").rootContainer().createdAt())
        .isEqualTo(java.time.Instant.parse("2023-01-26T00:00:00.123456789Z"));

    // Go requires the seconds; java.time's ISO parser makes them optional.
    Path file = StateFileBuilder.root("s2").createdAt("2023-01-26T00:00Z").writeTo(dir);
    assertThatThrownBy(() -> new RootDirectory(dir).loadSandbox("s2"))
        .isInstanceOf(StateFileException.class)
        .hasMessageStartingWith(
            "state file " + file + ": createdAt: \"2023-01-26T00:00Z\" is not an RFC 3339 time");
  }
}
