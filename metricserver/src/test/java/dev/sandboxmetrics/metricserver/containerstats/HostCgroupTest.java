package dev.sandboxmetrics.metricserver.containerstats;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Locating a sandbox's host cgroup from each form of runsc's CgroupJSON, and from /proc, and reading it. */
class HostCgroupTest {
  @TempDir Path tmp;

  private static Object json(String text) throws Exception {
    byte[] b = text.getBytes(StandardCharsets.UTF_8);
    return JsonTree.parse(b, b.length);
  }

  @Test
  void v2UsesThePathUnderTheGivenRootInsteadOfTheRecordedMountpoint() throws Exception {
    HostCgroup cg = HostCgroup.locate(json("{\"cgroupv2\":{\"mountpoint\":\"/sys/fs/cgroup\",\"path\":"
        + "\"/kubepods/pod1/sb\",\"controllers\":[\"cpu\"],\"own\":null}}"), 1, tmp, tmp);
    assertThat(cg.version()).isEqualTo(2);
    assertThat(cg.cpuDir()).isEqualTo(tmp.resolve("kubepods/pod1/sb"));
    Files.createDirectories(cg.cpuDir());
    Files.writeString(cg.cpuDir().resolve("cpu.stat"), "usage_usec 1500\nuser_usec 1000\n");
    Files.writeString(cg.cpuDir().resolve("memory.current"), "4096\n");
    Files.writeString(cg.cpuDir().resolve("cpu.pressure"), "some avg10=0.00 avg60=0.00 avg300=0.00 total=77\n"
        + "full avg10=0.00 avg60=0.00 avg300=0.00 total=11\n");
    HostCgroup.Reading r = cg.read();
    assertThat(r.cpuNanos()).isEqualTo(1_500_000);
    assertThat(r.memoryBytes()).isEqualTo(4096);
    assertThat(r.tasks()).isNull();
    assertThat(r.pressureMicros()).containsEntry("cpu_some", 77L).containsEntry("cpu_full", 11L);
    // Without --cgroup-root: the recorded mountpoint.
    assertThat(HostCgroup.locate(json("{\"cgroupv2\":{\"mountpoint\":\"/mnt/cg\",\"path\":\"/a\"}}"), 1, null, tmp)
        .cpuDir()).isEqualTo(Path.of("/mnt/cg/a"));
  }

  @Test
  void systemdExpandsTheSliceAndNamesTheScope() throws Exception {
    HostCgroup cg = HostCgroup.locate(json("{\"cgroupsystemd\":{\"mountpoint\":\"/sys/fs/cgroup\",\"path\":\"x\","
        + "\"Name\":\"abc\",\"Parent\":\"kubepods-burstable-pod1.slice\",\"ScopePrefix\":\"cri-containerd\"}}"),
        1, tmp, tmp);
    assertThat(cg.cpuDir()).isEqualTo(tmp.resolve(
        "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice/cri-containerd-abc.scope"));
  }

  @Test
  void v1ReadsCpuacctUsageUnderEachControllersParent() throws Exception {
    HostCgroup cg = HostCgroup.locate(json("{\"cgroupv1\":{\"name\":\"sb\",\"parents\":{\"cpuacct\":\"/kubepods\","
        + "\"memory\":\"/kubepods\"},\"own\":{}}}"), 1, tmp, tmp);
    assertThat(cg.version()).isEqualTo(1);
    Files.createDirectories(cg.cpuDir());
    Files.writeString(cg.cpuDir().resolve("cpuacct.usage"), "123456789\n");
    assertThat(cg.cpuDir()).isEqualTo(tmp.resolve("cpuacct/kubepods/sb"));
    assertThat(cg.read().cpuNanos()).isEqualTo(123456789L);
    assertThat(cg.read().memoryBytes()).isNull();
  }

  @Test
  void withoutARecordItReadsProcPidCgroupAsRunscDoes() throws Exception {
    Path proc = Files.createDirectories(tmp.resolve("proc/4242"));
    Files.writeString(proc.resolve("cgroup"), "0::/kubepods/pod1/sb\n");
    HostCgroup cg = HostCgroup.locate(json("{\"cgroupunknown\":null}"), 4242, tmp.resolve("cg"), tmp.resolve("proc"));
    // runsc's NewFromPid takes the parent of the process's cgroup on a v2 host.
    assertThat(cg.cpuDir()).isEqualTo(tmp.resolve("cg/kubepods/pod1"));
    assertThat(cg.recorded()).isFalse();
    Files.writeString(proc.resolve("cgroup"), "12:pids:/p\n4:cpu,cpuacct:/kubepods/sb\n3:memory:/kubepods/sb\n");
    cg = HostCgroup.locate(null, 4242, tmp.resolve("cg"), tmp.resolve("proc"));
    assertThat(cg.version()).isEqualTo(1);
    assertThat(cg.cpuDir()).isEqualTo(tmp.resolve("cg/cpuacct/kubepods/sb"));
    assertThat(HostCgroup.locate(null, 999_999, tmp, tmp.resolve("proc"))).isNull();
  }

  @Test
  void aPathThatLeavesTheRootIsNotFollowed() throws Exception {
    assertThat(HostCgroup.locate(json("{\"cgroupv2\":{\"path\":\"/../../etc\"}}"), 1, tmp.resolve("cg"), tmp))
        .isNull();
  }
}
