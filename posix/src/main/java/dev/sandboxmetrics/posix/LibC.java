package dev.sandboxmetrics.posix;

import com.sun.jna.Function;
import com.sun.jna.LastErrorException;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Platform;
import java.io.File;
import java.util.StringJoiner;

/**
 * The libc functions we call, bound once as JNA {@link Function} objects.
 *
 * <p>Not JNA's direct mapping ({@code Native.register} of {@code native} methods), although each call costs
 * it about 0.8 µs less: registering five methods took about 25 ms of every JVM start (reflection over the
 * class, JNA's type conversions set up per method), a tenth of a one-shot {@code export-metrics}, while a
 * metric server spends about 2.5 µs more per state file it reads (open, flock, close). The one exception is
 * {@code kill}, which the metric server calls twice per sandbox per scrape: {@link DirectKill} maps it
 * directly, in a class of its own that only the server loads.
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
  static final int O_WRONLY = 1;
  static final int O_CREAT = 0100;
  static final int O_NONBLOCK = 04000;
  static final int O_CLOEXEC = 02000000;
  static final int O_PATH = 010000000;
  /** Architecture-dependent: ARM and POWER use their own value, the others the generic one. */
  static final int O_NOFOLLOW = Platform.isARM() || Platform.isPPC() ? 0100000 : 0400000;

  static final int LOCK_SH = 1;
  static final int LOCK_EX = 2;
  static final int LOCK_NB = 4;
  static final int LOCK_UN = 8;

  static final int EINTR = 4;
  static final int ENOENT = 2;
  static final int ESRCH = 3;
  static final int EPERM = 1;
  static final int EWOULDBLOCK = 11;
  static final int EAGAIN = 11;
  static final int ENOMEM = 12;
  static final int ENXIO = 6;
  static final int ENFILE = 23;
  static final int EMFILE = 24;
  static final int ELOOP = 40;

  /** Where libraries live on Linux distributions, multi-arch and classic; the ones that exist are used. */
  private static final String[] LIBRARY_DIRS = {
    "/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/lib/aarch64-linux-gnu",
    "/usr/lib64", "/lib64", "/usr/lib", "/lib",
  };

  private static final NativeLibrary C;
  private static final Function OPEN;
  private static final Function CLOSE;
  private static final Function FLOCK;
  private static final Function KILL;
  private static final Function GETPID;
  private static final Function READ;
  private static final Function WRITE;
  private static final Function FTRUNCATE;

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
    NativeLibrary c = NativeLibrary.getInstance(Platform.C_LIBRARY_NAME);
    C = c;
    // THROW_LAST_ERROR: a call that fails (returns -1 and sets errno) throws LastErrorException with errno.
    OPEN = c.getFunction("open", Function.THROW_LAST_ERROR);
    CLOSE = c.getFunction("close", Function.THROW_LAST_ERROR);
    FLOCK = c.getFunction("flock", Function.THROW_LAST_ERROR);
    KILL = c.getFunction("kill", Function.THROW_LAST_ERROR);
    GETPID = c.getFunction("getpid");
    READ = c.getFunction("read", Function.THROW_LAST_ERROR);
    WRITE = c.getFunction("write", Function.THROW_LAST_ERROR);
    FTRUNCATE = c.getFunction("ftruncate", Function.THROW_LAST_ERROR);
  }

  private LibC() {}

  /** libc, for the classes that bind their own functions ({@link DirectKill}); JNA is set up as above. */
  static NativeLibrary library() {
    return C;
  }

  /** A libc function bound on first use, for calls only one command makes (signal dispositions). */
  static Function function(String name) {
    return NativeLibrary.getInstance(Platform.C_LIBRARY_NAME).getFunction(name, Function.THROW_LAST_ERROR);
  }

  static int open(String path, int flags, int mode) throws LastErrorException {
    // A NUL-terminated byte array goes to C without the temporary native copy a String argument gets.
    return OPEN.invokeInt(new Object[] {Native.toByteArray(path), flags, mode});
  }

  static int close(int fd) throws LastErrorException {
    return CLOSE.invokeInt(new Object[] {fd});
  }

  static int flock(int fd, int operation) throws LastErrorException {
    return FLOCK.invokeInt(new Object[] {fd, operation});
  }

  static int kill(int pid, int signal) throws LastErrorException {
    return KILL.invokeInt(new Object[] {pid, signal});
  }

  /** {@code read(2)} into the start of {@code buf}; JNA copies the array to C and back. */
  static int read(int fd, byte[] buf, int count) throws LastErrorException {
    return READ.invokeInt(new Object[] {fd, buf, (long) count});
  }

  /** {@code write(2)} from the start of {@code buf}. */
  static int write(int fd, byte[] buf, int count) throws LastErrorException {
    return WRITE.invokeInt(new Object[] {fd, buf, (long) count});
  }

  static int ftruncate(int fd, long length) throws LastErrorException {
    return FTRUNCATE.invokeInt(new Object[] {fd, length});
  }

  static int getpid() {
    return GETPID.invokeInt(new Object[0]);
  }

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
