package dev.unroll.runtime.opencl;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.Locale;

/**
 * Keeps the JVM's own handlers for the signals it relies on while an OpenCL driver runs in the process.
 *
 * <p>Why: PoCL compiles kernels with LLVM, and LLVM installs crash handlers for SIGSEGV, SIGBUS, SIGILL, SIGFPE
 * and SIGUSR2 in place of the JVM's and leaves them there ({@code java -Xcheck:jni} reports "SIGSEGV handler
 * modified" by libLLVM). The JVM takes SIGSEGV in normal operation (safepoint polls, implicit null checks); LLVM's
 * handler is one-shot (SA_RESETHAND), so when two threads fault at once, as every running thread does at a
 * safepoint, the second finds the default action and the process dies ("Segmentation fault", no hs_err file).
 * That happened once in a test run.
 *
 * <p>What: the JVM's actions are read before the first OpenCL call ({@link #remember}), and {@link #restore}, called
 * after each blocking driver call (a build, a transfer, a finish), puts back any that a driver replaced: a few
 * {@code sigaction} calls, nothing allocated. A driver that compiles lazily, on a kernel's first run, can still
 * replace them for the span of that call; preloading the JDK's {@code libjsig.so} closes that gap too (see the
 * README). Linux only (where PoCL is); elsewhere both methods do nothing.
 */
final class SignalHandlers {
  private SignalHandlers() {}

  /** SIGILL, SIGBUS, SIGFPE, SIGSEGV, SIGUSR2 on Linux (x86-64 and AArch64). */
  private static final int[] SIGNALS = {4, 7, 8, 11, 12};

  /** Bytes kept per action: more than glibc's struct sigaction (152 bytes on x86-64 and AArch64). */
  private static final long ACTION_BYTES = 256;

  /**
   * What tells two actions apart in glibc's struct sigaction: the handler (bytes 0-8), the part of the mask the
   * kernel keeps (8-16; glibc leaves the rest of its 128-byte mask unset) and the flags (136-140).
   */
  private static final long[][] FIELDS = {{0, 16}, {136, 140}};

  private static final MethodHandle SIGACTION = bind();
  /** The JVM's action per signal, once remembered; segments made once, so restoring allocates nothing. */
  private static final MemorySegment[] SAVED = new MemorySegment[SIGNALS.length];
  private static final MemorySegment CURRENT = SIGACTION == null ? null : Arena.global().allocate(ACTION_BYTES, 16);
  private static boolean remembered;

  static {
    if (SIGACTION != null) {
      for (int i = 0; i < SIGNALS.length; i++) {
        SAVED[i] = Arena.global().allocate(ACTION_BYTES, 16);
      }
    }
  }

  private static MethodHandle bind() {
    if (!System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux")) {
      return null;
    }
    Linker linker = Linker.nativeLinker();
    return linker.defaultLookup().find("sigaction")
        .map(s -> linker.downcallHandle(s, FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS)))
        .orElse(null);
  }

  /** Reads the current actions (the JVM's) once, before any driver is loaded. */
  static synchronized void remember() {
    if (SIGACTION == null || remembered) {
      return;
    }
    for (int i = 0; i < SIGNALS.length; i++) {
      query(SIGNALS[i], SAVED[i]);
    }
    remembered = true;
  }

  /** Puts back every remembered action that has been replaced since. */
  static synchronized void restore() {
    if (SIGACTION == null || !remembered) {
      return;
    }
    for (int i = 0; i < SIGNALS.length; i++) {
      if (replaced(i)) {
        call(SIGNALS[i], SAVED[i], MemorySegment.NULL);
      }
    }
  }

  /** Whether every remembered action is in place (for tests); true where nothing is tracked. */
  static synchronized boolean intact() {
    if (SIGACTION == null || !remembered) {
      return true;
    }
    for (int i = 0; i < SIGNALS.length; i++) {
      if (replaced(i)) {
        return false;
      }
    }
    return true;
  }

  /** Whether the action of SIGNALS[i] differs from the remembered one (in the fields that tell actions apart). */
  private static boolean replaced(int i) {
    query(SIGNALS[i], CURRENT);
    for (long[] f : FIELDS) {
      if (MemorySegment.mismatch(CURRENT, f[0], f[1], SAVED[i], f[0], f[1]) != -1) {
        return true;
      }
    }
    return false;
  }

  private static void query(int signal, MemorySegment into) {
    into.fill((byte) 0);
    call(signal, MemorySegment.NULL, into);
  }

  private static void call(int signal, MemorySegment action, MemorySegment old) {
    int rc;
    try {
      rc = (int) SIGACTION.invokeExact(signal, action, old);
    } catch (Throwable t) {
      throw new IllegalStateException("sigaction(" + signal + ") failed: " + t, t);
    }
    if (rc != 0) {
      throw new IllegalStateException("sigaction(" + signal + ") returned " + rc);
    }
  }
}
