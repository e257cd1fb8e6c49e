package dev.sandboxmetrics.e2e;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Finds the real programs the end-to-end tests drive (Prometheus, promtool, socat, curl, systemd-analyze).
 * A missing one is a failure, never a skip: ./run-tests installs them, and a test run that silently checked
 * nothing would look like a pass.
 */
final class RequiredProgram {
  private RequiredProgram() {}

  /**
   * @param name the program's file name
   * @param debianPackage the package that provides it, for the message
   * @return its absolute path on PATH
   * @throws AssertionError when it is not on PATH
   */
  static Path require(String name, String debianPackage) {
    Path found = findOnPath(name);
    if (found == null) {
      throw new AssertionError(
          name + " is not installed (not found on PATH=" + System.getenv("PATH") + "). Run the tests with"
              + " ./run-tests, which installs the Debian package " + debianPackage + " when it is missing.");
    }
    return found;
  }

  /** The program's absolute path on PATH, or {@code null} when absent. */
  private static Path findOnPath(String name) {
    String path = System.getenv("PATH");
    if (path == null) {
      return null;
    }
    for (String dir : path.split(File.pathSeparator)) {
      if (dir.isEmpty()) {
        continue;
      }
      Path candidate = Path.of(dir, name);
      if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
        return candidate.toAbsolutePath();
      }
    }
    return null;
  }
}
