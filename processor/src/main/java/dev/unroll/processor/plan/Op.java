package dev.unroll.processor.plan;

import dev.unroll.processor.kernel.Kernel;
import dev.unroll.processor.kernel.Phase;
import dev.unroll.processor.kernel.Role;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * One kernel call: an entry of the kernel catalogue with its arguments bound to the entry's roles, and a comment
 * naming the op and its shapes. The arguments are checked against the roles when the op is made: their number,
 * and that each is what its role takes (a tensor holding the role's elements, or none where the role is optional;
 * the step's inputs or targets; a size).
 *
 * @param entry the kernel's catalogue entry
 * @param args the arguments in the order of the entry's roles (the runtime method's order)
 * @param comment what the op computes, with its shapes
 * @throws IllegalArgumentException when the arguments do not fit the entry's roles
 */
public record Op(Kernel entry, List<Arg> args, String comment) {

  public Op {
    Objects.requireNonNull(entry, "entry");
    args = List.copyOf(args);
    List<Role> roles = entry.roles();
    if (args.size() != roles.size()) {
      throw new IllegalArgumentException(entry.method() + " takes " + roles.size() + " arguments " + roles
          + ", not " + args.size() + ": " + comment);
    }
    for (int i = 0; i < roles.size(); i++) {
      String problem = problem(roles.get(i), args.get(i));
      if (problem != null) {
        throw new IllegalArgumentException(entry.method() + "'s " + roles.get(i).name() + " takes " + problem + ", not "
            + args.get(i) + ": " + comment);
      }
    }
  }

  /** The runtime method's name: what the generated code calls. */
  public String kernel() {
    return entry.method();
  }

  /** The argument bound to the role named {@code role}. */
  public Arg arg(String role) {
    return args.get(entry.index(role));
  }

  /** The size bound to the role named {@code role}. */
  public Arg.Size size(String role) {
    if (arg(role) instanceof Arg.Size s) {
      return s;
    }
    throw new IllegalArgumentException(entry.method() + "'s " + role + " is not a size");
  }

  /** The sizes' values in order (-1 for one known only at run time). */
  public long[] sizes() {
    return args.stream().filter(a -> a instanceof Arg.Size).mapToLong(a -> ((Arg.Size) a).value()).toArray();
  }

  /** The OpenCL phases of this call. */
  public List<Phase> phases() {
    return entry.phases(sizes());
  }

  /**
   * The same call made with {@code kernel}, whose roles have the same names (a variant of this op's kernel), with
   * {@code role} bound to {@code arg} instead.
   */
  public Op with(Kernel kernel, String role, Arg arg, String comment) {
    List<Arg> bound = new ArrayList<>();
    for (Role r : kernel.roles()) {
      bound.add(r.name().equals(role) ? arg : arg(r.name()));
    }
    return new Op(kernel, bound, comment);
  }

  /** What {@code role} takes, when {@code arg} is not that; null when it fits. */
  private static String problem(Role role, Arg arg) {
    return switch (role.kind()) {
      case SIZE -> arg instanceof Arg.Size ? null : "a size";
      case TOKENS -> arg instanceof Arg.Inputs || arg instanceof Arg.Types ? null : "the step's inputs or types";
      case TARGETS -> arg instanceof Arg.Targets ? null : "the step's targets";
      case LENGTHS -> arg instanceof Arg.Lengths ? null : "the step's lengths";
      case CONSTANT -> arg instanceof Arg.Constant ? null : "a float constant";
      default -> holds(role, arg) ? null : "a " + role.element() + " tensor" + (role.optional() ? " or none" : "");
    };
  }

  /** Whether {@code arg} is a tensor of the role's elements, or none where the role may be absent. */
  private static boolean holds(Role role, Arg arg) {
    return switch (arg) {
      case Arg.None unused -> role.optional();
      case Arg.TensorRef r -> r.arena().element() == role.element();
      case Arg.Row r -> r.arena().element() == role.element();
      case Arg.At at -> at.arena().element() == role.element();
      case Arg.Pixels unused -> role.kind() == Role.Kind.INPUT;
      default -> false;
    };
  }
}
