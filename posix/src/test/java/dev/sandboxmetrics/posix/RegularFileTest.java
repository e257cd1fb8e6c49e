package dev.sandboxmetrics.posix;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hostile files where a regular one is expected: each is refused quickly (JUnit's timeout catches a blocked
 * open) and with the right kind, and nothing is followed or read beyond the limit.
 */
@Timeout(60)
class RegularFileTest {
  @TempDir Path dir;

  @Test
  void readsARegularFileAndItsIdentityMatchesTheJdksStat() throws IOException {
    Path f = dir.resolve("a.state");
    Files.writeString(f, "{\"id\":\"a\"}");
    try (RegularFile opened = RegularFile.open(f)) {
      assertThat(new String(opened.readAll(1024), StandardCharsets.UTF_8)).isEqualTo("{\"id\":\"a\"}");
      assertThat(opened.attributes()).isEqualTo(Files.readAttributes(f, RegularFile.ATTRIBUTES, LinkOption.NOFOLLOW_LINKS));
    }
  }

  @Test
  void symbolicLinkIsNotFollowed() throws IOException {
    Path target = dir.resolve("target");
    Files.writeString(target, "secret");
    Path link = Files.createSymbolicLink(dir.resolve("link"), target);
    assertThatThrownBy(() -> RegularFile.open(link))
        .isInstanceOfSatisfying(UnsafeFileException.class, e -> assertThat(e.kind()).isEqualTo(UnsafeFileException.Kind.SYMBOLIC_LINK))
        .hasMessageContaining("symbolic link");
    assertThatThrownBy(() -> Flock.tryLock(link, false)).isInstanceOf(UnsafeFileException.class);
  }

  @Test
  void fifoIsRefusedWithoutBlockingAlsoAsALockFile() throws Exception {
    Path fifo = mkfifo(dir.resolve("c_sandbox:s.state"));
    assertNotRegular(() -> RegularFile.open(fifo));
    assertNotRegular(() -> Flock.tryLock(fifo, false));
    // And through a symbolic link to it.
    Path link = Files.createSymbolicLink(dir.resolve("link.state"), fifo);
    assertThatThrownBy(() -> RegularFile.open(link)).isInstanceOf(UnsafeFileException.class);
  }

  @Test
  void deviceNodeAndDirectoryAreRefused() throws Exception {
    assertNotRegular(() -> RegularFile.open(Path.of("/dev/null")));
    assertNotRegular(() -> Flock.tryLock(Path.of("/dev/null"), false));
    Path directory = Files.createDirectory(dir.resolve("d.state"));
    assertNotRegular(() -> RegularFile.open(directory));
  }

  @Test
  void fileLargerThanTheLimitIsRefusedByItsSizeWithoutReadingIt() throws IOException {
    Path sparse = dir.resolve("sparse.state");
    try (RandomAccessFile f = new RandomAccessFile(sparse.toFile(), "rw")) {
      f.setLength(3L * 1024 * 1024 * 1024); // 3 GiB, no blocks on disk
    }
    try (RegularFile opened = RegularFile.open(sparse)) {
      assertThatThrownBy(() -> opened.readAll(4096))
          .isInstanceOfSatisfying(UnsafeFileException.class, e -> assertThat(e.kind()).isEqualTo(UnsafeFileException.Kind.TOO_LARGE))
          .hasMessageContaining("larger than the limit of 4096 bytes");
    }
    Path exact = dir.resolve("exact");
    Files.write(exact, new byte[4096]);
    try (RegularFile opened = RegularFile.open(exact)) {
      assertThat(opened.readAll(4096)).hasSize(4096);
    }
  }

  @Test
  void missingFileIsNoSuchFile() {
    assertThatThrownBy(() -> RegularFile.open(dir.resolve("missing"))).isInstanceOf(NoSuchFileException.class);
  }

  @Test
  void writeReplacesContentButRefusesSymbolicLinksAndFifos() throws Exception {
    Path pid = dir.resolve("server.pid");
    RegularFile.write(pid, "12345".getBytes(StandardCharsets.US_ASCII), 0644);
    RegularFile.write(pid, "7".getBytes(StandardCharsets.US_ASCII), 0644);
    assertThat(Files.readString(pid)).isEqualTo("7");

    Path victim = dir.resolve("victim");
    Files.writeString(victim, "keep me");
    Path link = Files.createSymbolicLink(dir.resolve("link.pid"), victim);
    assertThatThrownBy(() -> RegularFile.write(link, "1".getBytes(StandardCharsets.US_ASCII), 0644))
        .isInstanceOf(UnsafeFileException.class);
    assertThat(Files.readString(victim)).isEqualTo("keep me");
    // A dangling link is not followed either (O_CREAT would otherwise create its target).
    Path dangling = Files.createSymbolicLink(dir.resolve("dangling.pid"), dir.resolve("created-through-link"));
    assertThatThrownBy(() -> RegularFile.write(dangling, "1".getBytes(StandardCharsets.US_ASCII), 0644))
        .isInstanceOf(UnsafeFileException.class);
    assertThat(dir.resolve("created-through-link")).doesNotExist();

    Path fifo = mkfifo(dir.resolve("fifo.pid"));
    assertNotRegular(() -> RegularFile.write(fifo, "1".getBytes(StandardCharsets.US_ASCII), 0644));
  }

  private static void assertNotRegular(ThrowingCallable opening) {
    assertThatThrownBy(opening)
        .isInstanceOfSatisfying(UnsafeFileException.class, e -> assertThat(e.kind()).isEqualTo(UnsafeFileException.Kind.NOT_REGULAR))
        .hasMessageContaining("not a regular file");
  }

  static Path mkfifo(Path path) throws Exception {
    Process p = new ProcessBuilder("mkfifo", path.toString()).inheritIO().start();
    assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).isZero();
    return path;
  }
}
