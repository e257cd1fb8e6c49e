package dev.sandboxmetrics.posix;

import com.sun.jna.Native;
import com.sun.jna.Platform;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * Keeps a copy of JNA's native part ({@code libjnidispatch.so}) in a directory of our choosing. Without one,
 * JNA copies it out of its jar into a new temporary file on every JVM start (and deletes it at exit), which
 * a one-shot {@code export-metrics} pays each time; with {@code -Djna.boot.library.path=DIR} JNA loads the
 * copy in {@code DIR}. The launcher's start-up preparation ({@code StartupTraining} in the CLI) calls this;
 * the copy belongs to one jar, since JNA refuses a native part of another version.
 */
public final class NativeDispatch {
  private NativeDispatch() {}

  /**
   * Writes the native part for this platform into {@code dir} (created when missing), atomically, so a JVM
   * starting meanwhile sees no half-written file.
   *
   * @return the file written
   * @throws IOException when the jar has no native part for this platform or the file cannot be written
   */
  public static Path unpackTo(Path dir) throws IOException {
    String name = System.mapLibraryName("jnidispatch");
    // Where JNA's jar keeps it; Platform is plain Java, so naming the resource does not start JNA.
    String resource = "com/sun/jna/" + Platform.RESOURCE_PREFIX + "/" + name;
    Files.createDirectories(dir);
    Path target = dir.resolve(name);
    Path tmp = Files.createTempFile(dir, name, ".tmp");
    try (InputStream in = Native.class.getClassLoader().getResourceAsStream(resource)) {
      if (in == null) {
        throw new IOException("JNA has no native part for " + Platform.RESOURCE_PREFIX + " (" + resource + ")");
      }
      Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
      Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } finally {
      Files.deleteIfExists(tmp);
    }
    return target;
  }
}
