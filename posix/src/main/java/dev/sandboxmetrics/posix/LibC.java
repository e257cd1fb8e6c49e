package dev.sandboxmetrics.posix;

import com.sun.jna.LastErrorException;
import com.sun.jna.Native;
import com.sun.jna.Platform;
import java.io.File;
import java.util.StringJoiner;

/**
 * The libc functions we call, bound once with JNA direct mapping (cheaper per call than an interface proxy).
 *
 * <p>Start-up matters here ({@code export-metrics} takes a lock on every run), so two JNA defaults that cost
 * time on every JVM start are avoided:
 *
 * <ul>
 *   <li>JNA's {@code NativeLibrary} runs {@code /sbin/ldconfig -p} in a child process, the first time it is
 *       used, to learn the library directories, unless {@code jna.platform.library.path} names them. We
 *       bind only libc, which JNA takes from the running process ({@code dlopen(NULL)}) without searching,
 *       so the standard directories are enough; a value the user set wins.
 *   <li>JNA unpacks its native part ({@code libjnidispatch.so}) into a new temporary file on every start
 *       unless {@code jna.boot.library.path} points to a directory holding it; the launcher
 *       ({@code ./sandbox-metrics}) keeps one there, written by {@link NativeDispatch}.
 * </ul>
 */
final class LibC {
  static final int O_RDONLY = 0;
  static final int O_CREAT = 0100;
  static final int O_CLOEXEC = 02000000;
  static final int O_PATH = 010000000;

  static final int LOCK_SH = 1;
  static final int LOCK_EX = 2;
  static final int LOCK_NB = 4;
  static final int LOCK_UN = 8;

  static final int EINTR = 4;
  static final int ENOENT = 2;
  static final int ESRCH = 3;
  static final int EPERM = 1;
  static final int EWOULDBLOCK = 11;

  /** Where libraries live on Linux distributions, multi-arch and classic; the ones that exist are used. */
  private static final String[] LIBRARY_DIRS = {
    "/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/lib/aarch64-linux-gnu",
    "/usr/lib64", "/lib64", "/usr/lib", "/lib",
  };

  static {
    if (System.getProperty("jna.platform.library.path") == null) {
      StringJoiner dirs = new StringJoiner(File.pathSeparator);
      for (String d : LIBRARY_DIRS) {
        if (new File(d).isDirectory()) {
          dirs.add(d);
        }
      }
      System.setProperty("jna.platform.library.path", dirs.toString());
    }
    Native.register(Platform.C_LIBRARY_NAME);
  }

  private LibC() {}

  static native int open(String path, int flags, int mode) throws LastErrorException;

  static native int close(int fd) throws LastErrorException;

  static native int flock(int fd, int operation) throws LastErrorException;

  static native int kill(int pid, int signal) throws LastErrorException;

  static native int getpid();

  static String describe(LastErrorException e) {
    String text;
    try {
      text = e.getMessage();
    } catch (RuntimeException ignored) {
      text = "errno " + e.getErrorCode();
    }
    return text;
  }
}
