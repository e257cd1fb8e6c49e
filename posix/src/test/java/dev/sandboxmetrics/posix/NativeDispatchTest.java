package dev.sandboxmetrics.posix;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** JNA's start in a fresh JVM: from a kept native part, without a temporary copy or a library search. */
class NativeDispatchTest {
  @TempDir Path dir;

  @Test
  void aJvmGivenTheKeptCopyLoadsItAndUnpacksNothing() throws Exception {
    Path kept = NativeDispatch.unpackTo(dir.resolve("jna"));
    assertThat(kept.getFileName().toString()).isEqualTo("libjnidispatch.so");
    assertThat(Files.size(kept)).isPositive();
    assertThat(NativeDispatch.unpackTo(dir.resolve("jna"))).isEqualTo(kept); // again: replaced in place
    assertThat(Files.list(dir.resolve("jna")).toList()).containsExactly(kept);

    Path cache = Files.createDirectories(dir.resolve("cache"));
    List<String> out = probe(cache, "-Djna.boot.library.path=" + kept.getParent());
    assertThat(out.get(0)).isEqualTo(kept.toString());
    assertThat(out.get(1)).isNotEmpty(); // set by LibC, so JNA did not ask ldconfig
    assertThat(Files.walk(cache).filter(Files::isRegularFile).toList()).as("JNA's temporary copies").isEmpty();
  }

  @Test
  void withoutTheKeptCopyJnaStillWorks() throws Exception {
    Path cache = Files.createDirectories(dir.resolve("cache"));
    List<String> out = probe(cache, "-Djna.boot.library.path=" + dir.resolve("nothing-here"));
    assertThat(out.get(0)).startsWith(cache.toString()); // unpacked as JNA does by default
  }

  /** Runs {@link JnaStartProbe} in a new JVM with its own cache directory (where JNA unpacks by default). */
  private static List<String> probe(Path cache, String... jvmOptions) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>();
    cmd.add(ProcessHandle.current().info().command().orElse("java"));
    cmd.addAll(List.of(jvmOptions));
    cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), JnaStartProbe.class.getName()));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.environment().put("XDG_CACHE_HOME", cache.toString());
    Process p = pb.start();
    String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(text).isZero();
    return text.lines().toList();
  }
}
