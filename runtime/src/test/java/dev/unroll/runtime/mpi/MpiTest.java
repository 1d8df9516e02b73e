package dev.unroll.runtime.mpi;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.junit.jupiter.api.Test;

/** Outside mpirun, MPI is unavailable and asking for it says how to start the process. */
class MpiTest {
  @Test
  void outsideMpirunMpiIsUnavailableAndSaysHowToStart() {
    assumeTrue(System.getenv("OMPI_COMM_WORLD_SIZE") == null, "this JVM was started by mpirun");
    assertFalse(Mpi.available());
    assertTrue(Mpi.unavailableReason().contains("mpirun -np N java"), Mpi.unavailableReason());
    MpiException e = assertThrows(MpiException.class, Mpi::world);
    assertTrue(e.getMessage().startsWith("MPI is unavailable: this process was not started by Open MPI's mpirun"),
        e.getMessage());
  }
}
