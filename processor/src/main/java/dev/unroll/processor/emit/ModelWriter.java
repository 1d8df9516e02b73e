package dev.unroll.processor.emit;

import com.palantir.javapoet.AnnotationSpec;
import com.palantir.javapoet.ArrayTypeName;
import com.palantir.javapoet.ClassName;
import com.palantir.javapoet.CodeBlock;
import com.palantir.javapoet.FieldSpec;
import com.palantir.javapoet.JavaFile;
import com.palantir.javapoet.MethodSpec;
import com.palantir.javapoet.TypeName;
import com.palantir.javapoet.TypeSpec;
import dev.unroll.processor.parse.ModelSpec;
import dev.unroll.processor.plan.Arena;
import dev.unroll.processor.plan.Arg;
import dev.unroll.processor.plan.Families;
import dev.unroll.processor.plan.Op;
import dev.unroll.processor.plan.Plan;
import dev.unroll.processor.plan.Stage;
import dev.unroll.processor.plan.Tensor;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;
import javax.lang.model.element.Modifier;

/**
 * Prints a {@link Plan} as the source of {@code Unrolled<Name>}: dimension and offset constants, the arenas,
 * one method per stage of straight-line kernel calls, and the {@code CausalLm} methods around them.
 */
public final class ModelWriter {
  /** Recorded in {@code @Generated}. */
  public static final String GENERATOR = "dev.unroll.processor.UnrollProcessor";

  private static final String RUNTIME = "dev.unroll.runtime";
  private static final ClassName BACKEND = ClassName.get(RUNTIME, "Backend");
  private static final ClassName KERNELS = ClassName.get(RUNTIME + ".kernel", "Kernels");
  private static final ClassName MODEL_SHAPE = ClassName.get(RUNTIME, "ModelShape");
  private static final ClassName PARAMETERS = ClassName.get(RUNTIME, "Parameters");
  private static final ClassName CHECKS = ClassName.get(RUNTIME + ".check", "Checks");
  private static final ClassName INT8 = ClassName.get(RUNTIME + ".number", "Int8");
  private static final ClassName BF16 = ClassName.get(RUNTIME + ".number", "Bf16");
  private static final ClassName PATH = ClassName.get("java.nio.file", "Path");
  private static final ClassName IO_EXCEPTION = ClassName.get("java.io", "IOException");
  private static final ClassName OBJECTS = ClassName.get("java.util", "Objects");
  private static final ClassName GENERATED = ClassName.get("javax.annotation.processing", "Generated");
  private static final ClassName DEVICE_MODEL = ClassName.get(RUNTIME + ".opencl", "DeviceModel");
  private static final ClassName OPEN_CL = ClassName.get(RUNTIME + ".opencl", "OpenCl");
  private static final TypeName FLOATS = ArrayTypeName.of(TypeName.FLOAT);
  private static final TypeName INTS = ArrayTypeName.of(TypeName.INT);

  private final Plan plan;
  private final ModelSpec spec;
  private final ClassName self;
  private final boolean llama;
  /** The family, as the registry knows it. */
  private final Families.Entry family;
  /** The runtime's {@code ModelFamily} of the family: layout, initialisation, checkpoints. */
  private final ClassName runtimeFamily;
  /** The runtime record of the family's shape, the type of {@code SHAPE}. */
  private final ClassName shapeType;
  /** The OpenCL side: wrapper kernels and the Java that binds them. */
  private final OpenClWriter openCl;

  private ModelWriter(Plan plan) {
    this.plan = plan;
    this.spec = plan.spec();
    this.self = ClassName.get(spec.packageName(), spec.generatedName());
    this.llama = spec.family() == dev.unroll.Family.LLAMA;
    this.family = Families.of(spec.family());
    this.runtimeFamily = ClassName.bestGuess(family.runtimeFamily());
    this.shapeType = ClassName.bestGuess(family.runtimeShape());
    this.openCl = new OpenClWriter(plan);
  }

  /** The generated file for {@code plan}; {@code originating} ties it to its interface for incremental builds. */
  public static JavaFile write(Plan plan, javax.lang.model.element.Element originating) {
    return new ModelWriter(plan).file(originating);
  }

  private JavaFile file(javax.lang.model.element.Element originating) {
    ClassName iface = ClassName.get(spec.packageName(), spec.interfaceName());
    TypeSpec.Builder type = TypeSpec.classBuilder(self)
        .addModifiers(Modifier.PUBLIC, Modifier.FINAL)
        .addSuperinterface(iface)
        .addAnnotation(AnnotationSpec.builder(GENERATED).addMember("value", "$S", GENERATOR).build())
        .addJavadoc(classDoc());
    if (originating != null) {
      type.addOriginatingElement(originating);
    }
    addConstants(type);
    addFields(type);
    addFactories(type);
    addCausalLmMethods(type);
    for (Stage stage : plan.forward()) {
      type.addMethod(stageMethod(stage, type));
    }
    for (Stage stage : plan.backward()) {
      type.addMethod(stageMethod(stage, type));
    }
    for (Stage stage : plan.decode()) {
      type.addMethod(stageMethod(stage, type));
    }
    for (Stage stage : plan.decodeBf16()) {
      if (!plan.decode().contains(stage)) {
        type.addMethod(stageMethod(stage, type));
      }
    }
    for (Stage stage : plan.decodeInt8()) {
      if (!plan.decode().contains(stage)) {
        type.addMethod(stageMethod(stage, type));
      }
    }
    addOpenCl(type);
    return JavaFile.builder(spec.packageName(), type.build())
        .indent("  ")
        .skipJavaLangImports(true)
        .addFileComment("Generated by Unroll from $L. Do not edit: change the annotation instead.",
            spec.interfaceName())
        .build();
  }

  private CodeBlock classDoc() {
    CodeBlock.Builder doc = CodeBlock.builder();
    doc.add("$L, compiled by Unroll for one shape: $L.\n\n", spec.interfaceName(), spec.describe());
    doc.add("<p>Every size below is a constant and every layer a straight run of kernel calls. All memory is\n"
        + "allocated here, once; {@code forward}, {@code backward} and {@code AdamW.step} allocate nothing.\n\n");
    doc.add("<pre>{@code\n");
    doc.add("$L model = $L.create(Backend.SIMD, 1337);       // $L init, seeded\n", spec.interfaceName(),
        spec.generatedName(), family.displayName());
    doc.add("AdamW opt = AdamW.of(model).lr(1e-3f);\n");
    doc.add("int[] x = new int[$L.TOKENS], y = new int[$L.TOKENS];   // BATCH rows of CONTEXT tokens\n",
        spec.generatedName(), spec.generatedName());
    doc.add("float loss = model.forward(x, y); model.zeroGrad(); model.backward(); opt.step();\n");
    doc.add("model.save(Path.of(\"model.safetensors\"));                  // Hugging Face $L names\n",
        family.displayName());
    doc.add("$L again = $L.load(Backend.SIMD, Path.of(\"model.safetensors\")); // or an $L .bin\n",
        spec.interfaceName(), spec.generatedName(), family.reference());
    doc.add("model.reset(); float[] next = model.decode(token);          // KV-cache decoding\n");
    doc.add("}</pre>\n\n");
    doc.add("<p>$L parameters ($L trainable); $L training FLOPs per step ($L tokens).\n\n",
        plan.parameterCount(), plan.trainableParameters(), plan.trainingFlopsPerStep(), plan.tokensPerStep());
    doc.add("<h2>Memory map</h2>\n<pre>\n");
    doc.add(String.format(Locale.ROOT, "%-28s %-32s %-7s %12s %14s%n", "tensor", "shape", "arena", "offset",
        "bytes"));
    for (Tensor t : plan.parameters()) {
      doc.add(row(t.name(), t, "params"));
    }
    for (Tensor t : plan.activations()) {
      doc.add(row(t.constant().toLowerCase(Locale.ROOT), t, "acts"));
    }
    for (Tensor t : plan.kvCache()) {
      doc.add(row(t.constant().toLowerCase(Locale.ROOT), t, "kv"));
    }
    for (Tensor t : plan.decodeActivations()) {
      doc.add(row(t.constant().toLowerCase(Locale.ROOT), t, "dec"));
    }
    doc.add("grads mirrors params; dacts mirrors acts; kv and dec serve decode().\n");
    doc.add(String.format(Locale.ROOT, "params %,d B, grads %,d B, AdamW moments %,d B, acts %,d B, dacts %,d B:"
        + " %,d B in all%n", plan.parameterBytes(), plan.parameterBytes(), 2 * plan.parameterBytes(),
        plan.activationBytes(), plan.activationBytes(), plan.totalTrainingBytes()));
    doc.add(String.format(Locale.ROOT, "decoding: kv %,d B, dec %,d B%n", 4L * plan.kvCount(),
        4L * plan.decodeCount()));
    doc.add("</pre>\n");
    return doc.build();
  }

  private static String row(String name, Tensor t, String arena) {
    return String.format(Locale.ROOT, "%-28s %-32s %-7s %12d %14d%n", name, t.shapeDoc(), arena, t.offset(),
        4L * t.size());
  }

  private void addConstants(TypeSpec.Builder type) {
    dim(type, "VOCAB", spec.vocab(), "Distinct tokens (vocab).");
    dim(type, "PADDED_VOCAB", plan.paddedVocab(), "Classifier rows: VOCAB rounded up; padded logits never count.");
    dim(type, "CONTEXT", spec.context(), "Positions per row (context).");
    dim(type, "DIM", spec.dim(), "Residual width (dim).");
    dim(type, "HEADS", spec.heads(), "Attention heads (heads).");
    dim(type, "HEAD_SIZE", spec.dim() / spec.heads(), "DIM / HEADS.");
    dim(type, "LAYERS", spec.layers(), "Blocks (layers).");
    dim(type, "BATCH", spec.batch(), "Rows per step (batch).");
    dim(type, "HIDDEN", spec.hidden(), "MLP width (hidden).");
    if (llama) {
      int kvDim = spec.kvHeads() * (spec.dim() / spec.heads());
      dim(type, "KV_HEADS", spec.kvHeads(), "Key/value heads (kvHeads).");
      dim(type, "KV_DIM", kvDim, "KV_HEADS * HEAD_SIZE: the width of a key or a value.");
      dim(type, "QKV_WIDTH", spec.dim() + 2 * kvDim, "DIM + 2 * KV_DIM: q, k and v side by side.");
    }
    dim(type, "TOKENS", (int) plan.tokensPerStep(), "Tokens per step: BATCH * CONTEXT.");
    dim(type, "PARAMETER_COUNT", plan.parameterCount(), "Floats in the parameter (and gradient) arena.");
    dim(type, "ACTIVATION_COUNT", plan.activationCount(), "Floats in the activation (and its gradient) arena.");
    dim(type, "KV_COUNT", plan.kvCount(), "Floats in the KV cache: keys and values of every layer and position.");
    dim(type, "DECODE_COUNT", plan.decodeCount(), "Floats of the one decoded position's activations.");
    type.addField(FieldSpec.builder(TypeName.LONG, "FLOPS_PER_STEP", Modifier.PUBLIC, Modifier.STATIC,
            Modifier.FINAL)
        .addJavadoc("Training FLOPs per step: 6·N·B·T + 12·L·C·B·T², N the trainable parameters.\n")
        .initializer("$LL", plan.trainingFlopsPerStep()).build());
    FieldSpec.Builder shape = FieldSpec.builder(shapeType, "SHAPE", Modifier.PUBLIC, Modifier.STATIC, Modifier.FINAL);
    if (llama) {
      shape.addJavadoc("The shape, with key/value heads and the classifier's tying.\n")
          .initializer("new $T(VOCAB, PADDED_VOCAB, CONTEXT, DIM, HEADS, KV_HEADS, LAYERS, BATCH, HIDDEN, $L)",
              shapeType, spec.tiedClassifier());
    } else {
      shape.addJavadoc("The shape, for code that works with any model.\n")
          .initializer("new $T(VOCAB, PADDED_VOCAB, CONTEXT, DIM, HEADS, LAYERS, BATCH, HIDDEN)", shapeType);
    }
    type.addField(shape.build());
    for (Tensor t : plan.parameters()) {
      offset(type, t, "Parameter " + t.name());
    }
    for (Tensor t : plan.activations()) {
      offset(type, t, "Activation");
    }
    for (Tensor t : plan.kvCache()) {
      offset(type, t, "KV cache");
    }
    for (Tensor t : plan.decodeActivations()) {
      offset(type, t, "Decode activation");
    }
  }

  private static void dim(TypeSpec.Builder type, String name, int value, String doc) {
    type.addField(FieldSpec.builder(TypeName.INT, name, Modifier.PUBLIC, Modifier.STATIC, Modifier.FINAL)
        .addJavadoc("$L\n", doc).initializer("$L", value).build());
  }

  private static void offset(TypeSpec.Builder type, Tensor t, String what) {
    type.addField(FieldSpec.builder(TypeName.INT, t.constant(), Modifier.STATIC, Modifier.FINAL)
        .addJavadoc("$L $L.\n", what, t.shapeDoc()).initializer("$L", t.offset()).build());
  }

  private void addFields(TypeSpec.Builder type) {
    type.addField(BACKEND, "backend", Modifier.PRIVATE, Modifier.FINAL);
    type.addField(KERNELS, "k", Modifier.PRIVATE, Modifier.FINAL);
    type.addField(FieldSpec.builder(FLOATS, "params", Modifier.PRIVATE, Modifier.FINAL)
        .initializer("new float[PARAMETER_COUNT]").build());
    type.addField(FieldSpec.builder(FLOATS, "grads", Modifier.PRIVATE, Modifier.FINAL)
        .initializer("new float[PARAMETER_COUNT]").build());
    type.addField(FieldSpec.builder(FLOATS, "acts", Modifier.PRIVATE, Modifier.FINAL)
        .addJavadoc("Activations (empty on OPENCL, where they live on the device; so are dacts, kv and dec).\n")
        .build());
    type.addField(FLOATS, "dacts", Modifier.PRIVATE, Modifier.FINAL);
    type.addField(FieldSpec.builder(INTS, "inputs", Modifier.PRIVATE, Modifier.FINAL)
        .addJavadoc("The current step's tokens, copied so that backward sees what forward saw.\n")
        .initializer("new int[TOKENS]").build());
    type.addField(FieldSpec.builder(INTS, "targets", Modifier.PRIVATE, Modifier.FINAL)
        .initializer("new int[TOKENS]").build());
    type.addField(FLOATS, "kv", Modifier.PRIVATE, Modifier.FINAL);
    type.addField(FLOATS, "dec", Modifier.PRIVATE, Modifier.FINAL);
    type.addField(FieldSpec.builder(FLOATS, "decodeLogits", Modifier.PRIVATE, Modifier.FINAL)
        .addJavadoc("What decode returns: VOCAB logits, overwritten by each call.\n")
        .initializer("new float[VOCAB]").build());
    type.addField(FieldSpec.builder(ArrayTypeName.of(TypeName.SHORT), "bf16", Modifier.PRIVATE)
        .addJavadoc("A bfloat16 copy of params for decoding, or null: see decodeWeights.\n").build());
    type.addField(FieldSpec.builder(ArrayTypeName.of(TypeName.BYTE), "int8", Modifier.PRIVATE)
        .addJavadoc("An int8 copy of params for decoding, or null: see decodeWeights.\n").build());
    type.addField(FieldSpec.builder(FLOATS, "int8Scales", Modifier.PRIVATE)
        .addJavadoc("The int8 copy's scales, one per 32 weights, or null.\n").build());
    type.addField(FieldSpec.builder(TypeName.INT, "pos", Modifier.PRIVATE)
        .addJavadoc("Tokens in the KV cache: the position of the next decoded token.\n").build());
    type.addField(PARAMETERS, "parameters", Modifier.PRIVATE, Modifier.FINAL);
    type.addField(FieldSpec.builder(TypeName.INT, "state", Modifier.PRIVATE)
        .addJavadoc("What the last forward left: 0 nothing usable, 1 logits, 2 logits and a finite loss.\n")
        .build());
    type.addField(FieldSpec.builder(DEVICE_MODEL, "cl", Modifier.PRIVATE, Modifier.FINAL)
        .addJavadoc("The device's buffers and bound kernel calls on OPENCL; null on the CPU backends.\n").build());
    type.addField(FieldSpec.builder(TypeName.INT, "clForward", Modifier.PRIVATE)
        .addJavadoc("First kernel call of each run on the device: forward, loss, backward, decode, its end,\n"
            + "and the bfloat16 decode and its end (-1 until decodeWeights(BFLOAT16)).\n").build());
    for (String f : List.of("clLoss", "clBackward", "clDecode", "clDecodeEnd", "clBf16", "clBf16End",
        "clBf16Buffer")) {
      type.addField(TypeName.INT, f, Modifier.PRIVATE);
    }
    type.addField(FieldSpec.builder(INTS, "step", Modifier.PRIVATE, Modifier.FINAL)
        .addJavadoc("The decoded token and its position, as the device's step buffer receives them.\n")
        .initializer("new int[2]").build());
  }

  private void addFactories(TypeSpec.Builder type) {
    type.addMethod(MethodSpec.constructorBuilder().addModifiers(Modifier.PRIVATE)
        .addParameter(BACKEND, "backend")
        .addStatement("this.backend = $T.requireNonNull(backend, $S)", OBJECTS, "backend")
        .addStatement("boolean device = backend == $T.OPENCL", BACKEND)
        .addStatement("this.k = device ? null : backend.kernels()")
        .addStatement("this.acts = new float[device ? 0 : ACTIVATION_COUNT]")
        .addStatement("this.dacts = new float[device ? 0 : ACTIVATION_COUNT]")
        .addStatement("this.kv = new float[device ? 0 : KV_COUNT]")
        .addStatement("this.dec = new float[device ? 0 : DECODE_COUNT]")
        .addStatement("this.parameters = new $T(params, grads, $T.FAMILY.tensors(SHAPE))", PARAMETERS, runtimeFamily)
        .addStatement("this.cl = device ? $T.open($T.device(), $S, OPENCL_SOURCE, this) : null",
            DEVICE_MODEL, OPEN_CL, spec.generatedName())
        .beginControlFlow("if (device)")
        .addStatement("bindDevice()")
        .endControlFlow()
        .build());
    type.addMethod(MethodSpec.methodBuilder("create").addModifiers(Modifier.PUBLIC, Modifier.STATIC)
        .addJavadoc("A model with GPT-2's initialisation from {@code seed}: the same seed gives the same weights.\n")
        .returns(self)
        .addParameter(BACKEND, "backend")
        .addParameter(TypeName.LONG, "seed")
        .addStatement("$T model = new $T(backend)", self, self)
        .addStatement("$T.FAMILY.init(model.parameters, SHAPE, seed)", runtimeFamily)
        .addStatement("model.parametersChanged()")
        .addStatement("return model")
        .build());
    type.addMethod(MethodSpec.methodBuilder("load").addModifiers(Modifier.PUBLIC, Modifier.STATIC)
        .addJavadoc("A model with the weights of {@code path}: safetensors with Hugging Face $L names, or an\n"
            + "$L checkpoint (told apart by their first bytes). A file whose shapes differ from this\n",
            family.displayName(), family.checkpointFormat())
        .addJavadoc(""
            + "model's, or that is truncated or corrupt, is an exception naming the file and the problem; only the\n"
            + "context may differ: a checkpoint made for a longer one loads (its first {@code CONTEXT} positions),\n"
            + "and says so once on the {@code System.Logger} {@code dev.unroll.runtime.format} at INFO.\n")
        .returns(self)
        .addException(IO_EXCEPTION)
        .addParameter(BACKEND, "backend")
        .addParameter(PATH, "path")
        .addStatement("$T model = new $T(backend)", self, self)
        .addStatement("$T.FAMILY.load(model.parameters, SHAPE, path)", runtimeFamily)
        .addStatement("model.parametersChanged()")
        .addStatement("return model")
        .build());
  }

  private void addCausalLmMethods(TypeSpec.Builder type) {
    type.addMethod(override("shape", MODEL_SHAPE).addStatement("return SHAPE").build());
    type.addMethod(override("backend", BACKEND).addStatement("return backend").build());

    Tensor losses = plan.activation("LOSSES");
    Tensor probs = plan.activation("PROBS");
    MethodSpec.Builder forward = override("forward", TypeName.FLOAT)
        .addParameter(INTS, "inputs")
        .addParameter(INTS, "targets")
        .addStatement("$T.tokens($S, inputs, BATCH, CONTEXT, VOCAB)", CHECKS, "inputs")
        .beginControlFlow("if (targets != null)")
        .addStatement("$T.tokens($S, targets, BATCH, CONTEXT, VOCAB)", CHECKS, "targets")
        .endControlFlow()
        .addStatement("state = 0")
        .addStatement("float loss")
        .beginControlFlow("if (cl != null)")
        .addStatement("cl.write(CL_INPUTS, 0, inputs, 0, TOKENS)")
        .addStatement("cl.run(clForward, clLoss)")
        .beginControlFlow("if (targets == null)")
        .addStatement("state = 1")
        .addStatement("return Float.NaN")
        .endControlFlow()
        .addStatement("cl.write(CL_TARGETS, 0, targets, 0, TOKENS)")
        .addStatement("cl.run(clLoss, clBackward)")
        .addStatement("loss = cl.read(CL_SCALARS, 0)")
        .nextControlFlow("else")
        .addStatement("$T.arraycopy(inputs, 0, this.inputs, 0, TOKENS)", System.class);
    for (Stage stage : plan.forward()) {
      forward.addStatement("$L()", stage.method());
    }
    forward.beginControlFlow("if (targets == null)")
        .addStatement("state = 1")
        .addStatement("return Float.NaN")
        .endControlFlow()
        .addStatement("$T.arraycopy(targets, 0, this.targets, 0, TOKENS)", System.class)
        .addComment("loss = mean of -ln(probs[target]) over the B*T positions")
        .addStatement("loss = k.crossEntropyForward(acts, $L, acts, $L, this.targets, TOKENS, PADDED_VOCAB)",
            losses.constant(), probs.constant())
        .endControlFlow()
        .beginControlFlow("if (!Float.isFinite(loss))")
        .addStatement("state = 1")
        .addStatement("throw new $T($S + loss + $S)", ArithmeticException.class,
            spec.generatedName() + ": the loss is ",
            "; the parameters hold NaN or infinity, or the learning rate is too high (no state was changed)")
        .endControlFlow()
        .addStatement("state = 2")
        .addStatement("return loss");
    type.addMethod(forward.build());

    MethodSpec.Builder backward = override("backward", TypeName.VOID)
        .beginControlFlow("if (state != 2)")
        .addStatement("throw new $T($S)", IllegalStateException.class,
            "backward() needs a forward(inputs, targets) that returned a finite loss first")
        .endControlFlow()
        .beginControlFlow("if (cl != null)")
        .addStatement("cl.zero(CL_DACTS, 0, ACTIVATION_COUNT)")
        .addStatement("cl.run(clBackward, clDecode)")
        .addStatement("return")
        .endControlFlow()
        .addStatement("k.zero(dacts, 0, ACTIVATION_COUNT)");
    for (Stage stage : plan.backward()) {
      backward.addStatement("$L()", stage.method());
    }
    type.addMethod(backward.build());

    type.addMethod(override("zeroGrad", TypeName.VOID)
        .beginControlFlow("if (cl != null)")
        .addStatement("cl.zero(CL_GRADS, 0, PARAMETER_COUNT)")
        .nextControlFlow("else")
        .addStatement("k.zero(grads, 0, PARAMETER_COUNT)")
        .endControlFlow()
        .build());

    Tensor logits = plan.activation("LOGITS");
    type.addMethod(override("logits", FLOATS)
        .addParameter(TypeName.INT, "row")
        .addParameter(TypeName.INT, "position")
        .addParameter(FLOATS, "dst")
        .beginControlFlow("if (state == 0)")
        .addStatement("throw new $T($S)", IllegalStateException.class, "no logits: call forward first")
        .endControlFlow()
        .addStatement("$T.position(row, position, BATCH, CONTEXT)", CHECKS)
        .beginControlFlow("if (dst.length < VOCAB)")
        .addStatement("throw new $T($S + dst.length + $S)", IllegalArgumentException.class, "dst has length ",
            "; logits need VOCAB = " + spec.vocab())
        .endControlFlow()
        .beginControlFlow("if (cl != null)")
        .addStatement("cl.read(CL_ACTS, $L + (row * CONTEXT + position) * PADDED_VOCAB, dst, 0, VOCAB)",
            logits.constant())
        .nextControlFlow("else")
        .addStatement("$T.arraycopy(acts, $L + (row * CONTEXT + position) * PADDED_VOCAB, dst, 0, VOCAB)",
            System.class, logits.constant())
        .endControlFlow()
        .addStatement("return dst")
        .build());

    Tensor decLogits = plan.decodeActivation("DEC_LOGITS");
    MethodSpec.Builder decode = override("decode", FLOATS)
        .addParameter(TypeName.INT, "token")
        .beginControlFlow("if (token < 0 || token >= VOCAB)")
        .addStatement("throw new $T($S + token + $S)", IllegalArgumentException.class, "token ",
            " is outside the vocabulary [0, " + spec.vocab() + ")")
        .endControlFlow()
        .beginControlFlow("if (pos >= CONTEXT)")
        .addStatement("throw new $T($S)", IllegalStateException.class,
            "the KV cache holds CONTEXT = " + spec.context() + " positions and is full; call reset()")
        .endControlFlow()
        .beginControlFlow("if (cl != null)")
        .addStatement("step[0] = token")
        .addStatement("step[1] = pos")
        .addStatement("cl.write(CL_STEP, 0, step, 0, 2)")
        .addStatement("cl.run(bf16 == null ? clDecode : clBf16, bf16 == null ? clDecodeEnd : clBf16End)")
        .addStatement("pos++")
        .addStatement("cl.read(CL_DEC, $L, decodeLogits, 0, VOCAB)", decLogits.constant())
        .addStatement("return decodeLogits")
        .endControlFlow();
    if (!plan.decodeInt8().isEmpty()) {
      decode.beginControlFlow("if (int8 != null)");
      for (Stage stage : plan.decodeInt8()) {
        decode.addStatement("$L($L)", stage.method(), String.join(", ", stageParameters(stage)));
      }
      decode.nextControlFlow("else if (bf16 == null)");
    } else {
      decode.beginControlFlow("if (bf16 == null)");
    }
    for (Stage stage : plan.decode()) {
      decode.addStatement("$L($L)", stage.method(), String.join(", ", stageParameters(stage)));
    }
    decode.nextControlFlow("else");
    for (Stage stage : plan.decodeBf16()) {
      decode.addStatement("$L($L)", stage.method(), String.join(", ", stageParameters(stage)));
    }
    decode.endControlFlow();
    decode.addStatement("pos++")
        .addStatement("$T.arraycopy(dec, $L, decodeLogits, 0, VOCAB)", System.class, decLogits.constant())
        .addStatement("return decodeLogits");
    type.addMethod(decode.build());
    type.addMethod(override("reset", TypeName.VOID).addStatement("pos = 0").build());
    ClassName formats = ClassName.get(RUNTIME, "DecodeWeights");
    List<MethodSpec> bf16Packing = packing(plan.decodeBf16(), Arena.BF16, "matmulForwardBf16", "packBf16Weight");
    List<MethodSpec> int8Packing = packing(plan.decodeInt8(), Arena.INT8, "matmulForwardInt8", "packInt8Weight");
    MethodSpec.Builder weights = override("decodeWeights", TypeName.VOID)
        .addParameter(formats, "format")
        .addStatement("$T.requireNonNull(format, $S)", OBJECTS, "format")
        .beginControlFlow("if (format == $T.INT8)", formats);
    if (plan.decodeInt8().isEmpty()) {
      weights.addStatement("throw new $T($S)", UnsupportedOperationException.class, "int8 weights share a scale "
          + "per 32 weights of a row, so every matrix's input width must be a multiple of 32; this shape has "
          + widths());
    } else {
      weights.beginControlFlow("if (cl != null)")
          .addStatement("throw new $T($S)", UnsupportedOperationException.class,
              "int8 weights decode on the SCALAR and SIMD backends; OPENCL decodes in FLOAT32 or BFLOAT16")
          .endControlFlow()
          .addStatement("byte[] q = int8 == null ? new byte[PARAMETER_COUNT] : int8")
          .addStatement("float[] scales = int8 == null ? new float[$T.scaleCount(PARAMETER_COUNT)] : int8Scales",
              INT8)
          .addStatement("$T.quantize(params, q, scales, PARAMETER_COUNT)", INT8);
      // the CPU kernels may read the weights in a layout of their own
      for (MethodSpec pack : int8Packing) {
        weights.addStatement("$N(q, scales)", pack);
      }
      weights.addStatement("bf16 = null")
          .addStatement("int8Scales = scales")
          .addStatement("int8 = q")
          .addStatement("return");
    }
    weights.endControlFlow()
        .addStatement("int8 = null")
        .addStatement("int8Scales = null")
        .beginControlFlow("if (format == $T.FLOAT32)", formats)
        .addStatement("bf16 = null")
        .addStatement("return")
        .endControlFlow()
        .addStatement("short[] copy = bf16 == null ? new short[PARAMETER_COUNT] : bf16")
        .beginControlFlow("if (cl != null)")
        .addStatement("cl.read(CL_PARAMS, 0, params, 0, PARAMETER_COUNT)")
        .endControlFlow()
        .addStatement("$T.fromFloats(params, 0, copy, 0, PARAMETER_COUNT)", BF16)
        .beginControlFlow("if (cl != null)")
        .addStatement("bindBf16Decode(copy)")
        .nextControlFlow("else");
    // the CPU kernels may read the weights in a layout of their own (the device's read them row-major)
    for (MethodSpec pack : bf16Packing) {
      weights.addStatement("$N(copy)", pack);
    }
    type.addMethod(weights.endControlFlow()
        .addStatement("bf16 = copy")
        .build());
    for (MethodSpec pack : int8Packing) {
      type.addMethod(pack);
    }
    for (MethodSpec pack : bf16Packing) {
      type.addMethod(pack);
    }
    type.addMethod(override("position", TypeName.INT).addStatement("return pos").build());

    type.addMethod(override("parameters", PARAMETERS)
        .beginControlFlow("if (cl != null)")
        .addStatement("cl.read(CL_PARAMS, 0, params, 0, PARAMETER_COUNT)")
        .addStatement("cl.read(CL_GRADS, 0, grads, 0, PARAMETER_COUNT)")
        .endControlFlow()
        .addStatement("return parameters")
        .build());
    type.addMethod(override("parametersChanged", TypeName.VOID)
        .beginControlFlow("if (cl != null)")
        .addStatement("cl.write(CL_PARAMS, 0, params, 0, PARAMETER_COUNT)")
        .addStatement("cl.write(CL_GRADS, 0, grads, 0, PARAMETER_COUNT)")
        .endControlFlow()
        .build());
    type.addMethod(override("deviceModel", DEVICE_MODEL).addStatement("return cl").build());
    type.addMethod(override("save", TypeName.VOID)
        .addParameter(PATH, "path")
        .addException(IO_EXCEPTION)
        .addStatement("$T.FAMILY.save(parameters(), SHAPE, path)", runtimeFamily)
        .build());
  }

  /**
   * The OPENCL backend: buffer numbers, the model's OpenCL C, the method that makes the buffers and binds every
   * kernel call in run order, and one binding method per stage.
   */
  private void addOpenCl(TypeSpec.Builder type) {
    MethodSpec.Builder bind = MethodSpec.methodBuilder("bindDevice").addModifiers(Modifier.PRIVATE)
        .addJavadoc("Makes the device buffers (numbered as the CL_ constants) and binds every kernel call.\n");
    int number = 0;
    for (Map.Entry<String, String> buffer : OpenClWriter.BUFFERS.entrySet()) {
      type.addField(FieldSpec.builder(TypeName.INT, buffer.getKey(), Modifier.PRIVATE, Modifier.STATIC,
          Modifier.FINAL).initializer("$L", number++).build());
      bind.addStatement("cl.$L", buffer.getValue());
    }
    bind.addStatement("cl.trainable(CL_PARAMS, CL_GRADS, PARAMETER_COUNT)")
        .addStatement("clForward = cl.calls()");
    List<MethodSpec> methods = new ArrayList<>();
    for (Stage stage : plan.forward()) {
      methods.add(openCl.stageMethod(stage));
      bind.addStatement("$L()", OpenClWriter.methodName(stage));
    }
    Tensor losses = plan.activation("LOSSES");
    Op crossEntropy = new Op("crossEntropyForward", List.of(new Arg.TensorRef(Arena.ACTS, losses),
        new Arg.TensorRef(Arena.ACTS, plan.activation("PROBS")), new Arg.Targets(),
        new Arg.Size("TOKENS", plan.tokensPerStep()), new Arg.Size("PADDED_VOCAB", plan.paddedVocab())),
        "losses = -ln(probs[target]): (B, T)");
    bind.addStatement("clLoss = cl.calls()")
        .addComment("$L", crossEntropy.comment())
        .addCode(openCl.calls(crossEntropy))
        .addComment("loss = mean of losses")
        .addStatement("int mean = cl.kernel($S, new long[] {1L}, null, CL_ACTS, $L, CL_SCALARS, 0)", "unroll_mean",
            losses.constant())
        .addStatement("cl.setInt(mean, 4, TOKENS)")
        .addStatement("clBackward = cl.calls()");
    for (Stage stage : plan.backward()) {
      methods.add(openCl.stageMethod(stage));
      bind.addStatement("$L()", OpenClWriter.methodName(stage));
    }
    bind.addStatement("clDecode = cl.calls()");
    for (Stage stage : plan.decode()) {
      methods.add(openCl.stageMethod(stage));
      bind.addStatement("$L()", OpenClWriter.methodName(stage));
    }
    bind.addStatement("clDecodeEnd = cl.calls()")
        .addStatement("clBf16 = -1")
        .addStatement("clBf16End = -1");
    MethodSpec.Builder bf16 = MethodSpec.methodBuilder("bindBf16Decode").addModifiers(Modifier.PRIVATE)
        .addJavadoc("Copies the bfloat16 weights to the device and, the first time, binds the decode calls that\n"
            + "read them.\n")
        .addParameter(ArrayTypeName.of(TypeName.SHORT), "weights")
        .beginControlFlow("if (clBf16 < 0)")
        .addStatement("clBf16Buffer = cl.shorts(PARAMETER_COUNT)")
        .addStatement("clBf16 = cl.calls()");
    for (Stage stage : plan.decodeBf16()) {
      if (!plan.decode().contains(stage)) {
        methods.add(openCl.stageMethod(stage));
      }
      bf16.addStatement("$L()", OpenClWriter.methodName(stage));
    }
    bf16.addStatement("clBf16End = cl.calls()")
        .endControlFlow()
        .addStatement("cl.write(clBf16Buffer, 0, weights, 0, PARAMETER_COUNT)");
    type.addField(FieldSpec.builder(String.class, "OPENCL_SOURCE", Modifier.PRIVATE, Modifier.STATIC,
            Modifier.FINAL)
        .addJavadoc("This model's OpenCL C: its kernels with every size a literal, over Unroll's kernel library.\n")
        .initializer("$S", openCl.source()).build());
    type.addMethod(bind.build());
    type.addMethod(bf16.build());
    methods.forEach(type::addMethod);
  }

  private static MethodSpec.Builder override(String name, TypeName returns) {
    return MethodSpec.methodBuilder(name).addAnnotation(Override.class).addModifiers(Modifier.PUBLIC)
        .returns(returns);
  }

  /** The run-time values a stage reads ({@code token}, {@code pos}), in that order: its method's parameters. */
  private static List<String> stageParameters(Stage stage) {
    boolean token = false;
    boolean pos = false;
    for (Op op : stage.ops()) {
      for (Arg arg : op.args()) {
        String expression = switch (arg) {
          case Arg.Row r -> r.index();
          case Arg.Size s -> s.expression();
          default -> "";
        };
        token |= expression.equals("token");
        pos |= expression.equals("pos");
      }
    }
    List<String> names = new ArrayList<>();
    if (token) {
      names.add("token");
    }
    if (pos) {
      names.add("pos");
    }
    return names;
  }

  /**
   * One method per decode stage that reads weights from {@code arena} (bfloat16 or int8), handing each weight it
   * reads to the kernels' {@code pack} once: the CPU kernels' layout of the copy. Per stage, so that each method is
   * as small as the stage's own.
   */
  private static List<MethodSpec> packing(List<Stage> stages, Arena arena, String kernel, String pack) {
    Map<String, String> packed = new HashMap<>();
    List<MethodSpec> methods = new ArrayList<>();
    for (Stage stage : stages) {
      MethodSpec.Builder m = MethodSpec.methodBuilder("pack" + Character.toUpperCase(stage.method().charAt(0))
              + stage.method().substring(1))
          .addModifiers(Modifier.PRIVATE)
          .addJavadoc("Lays out the weights that $L reads as the kernels read them.\n", stage.method());
      if (arena == Arena.INT8) {
        m.addParameter(ArrayTypeName.of(TypeName.BYTE), "w").addParameter(FLOATS, "s");
      } else {
        m.addParameter(ArrayTypeName.of(TypeName.SHORT), "w");
      }
      boolean any = false;
      for (Op op : stage.ops()) {
        if (!op.kernel().equals(kernel)
            || !(op.args().get(2) instanceof Arg.TensorRef w && w.arena() == arena)) {
          continue;
        }
        Arg.Size c = (Arg.Size) op.args().get(5);
        Arg.Size oc = (Arg.Size) op.args().get(6);
        String shape = c.value() + "x" + oc.value();
        String before = packed.putIfAbsent(w.tensor().constant(), shape);
        if (before != null) {
          if (!before.equals(shape)) {
            throw new IllegalStateException(w.tensor().constant() + " is read as " + before + " and as " + shape);
          }
          continue;
        }
        m.addStatement("k.$L($L, $L, $L, $L)", pack, arena == Arena.INT8 ? "w, s" : "w", w.tensor().constant(),
            c.expression(), oc.expression());
        any = true;
      }
      if (any) {
        methods.add(m.build());
      }
    }
    return methods;
  }

  /** The shape's matrix input widths, for the message of a shape that cannot hold int8 weights. */
  private String widths() {
    return "dim " + spec.dim() + " and hidden width " + spec.hidden();
  }

  /**
   * A stage's method. Runs of bfloat16 (or of int8) matrix-vector products of one input row (decoding's q, k and v;
   * a SwiGLU's two up-projections) become one {@code matmulForwardBf16Group} (or {@code Int8Group}) call, whose
   * offsets and row counts are constant arrays added to {@code type}: one job over the threads instead of one per
   * product.
   */
  private static MethodSpec stageMethod(Stage stage, TypeSpec.Builder type) {
    MethodSpec.Builder m = MethodSpec.methodBuilder(stage.method()).addModifiers(Modifier.PRIVATE)
        .addJavadoc("$L\n", stage.doc());
    for (String parameter : stageParameters(stage)) {
      m.addParameter(TypeName.INT, parameter);
    }
    List<Op> ops = stage.ops();
    int groups = 0;
    for (int i = 0; i < ops.size(); ) {
      int end = i + 1;
      while (end < ops.size() && groupsWith(ops.subList(i, end), ops.get(end))) {
        end++;
      }
      if (end - i == 1) {
        m.addComment("$L", ops.get(i).comment());
        m.addStatement(call(ops.get(i)));
      } else {
        String name = stage.method().replaceAll("([a-z0-9])([A-Z])", "$1_$2").toUpperCase(Locale.ROOT) + "_GROUP"
            + groups++;
        List<Op> group = ops.subList(i, end);
        groupArray(type, name + "_OUT", group, op -> ((Arg.TensorRef) op.args().get(0)).tensor().constant());
        groupArray(type, name + "_WEIGHTS", group, op -> ((Arg.TensorRef) op.args().get(2)).tensor().constant());
        groupArray(type, name + "_ROWS", group, op -> ((Arg.Size) op.args().get(6)).expression());
        for (Op op : group) {
          m.addComment("$L", op.comment());
        }
        Op first = group.get(0);
        Arg.TensorRef out = (Arg.TensorRef) first.args().get(0);
        Arg.TensorRef inp = (Arg.TensorRef) first.args().get(1);
        Arg.TensorRef weight = (Arg.TensorRef) first.args().get(2);
        m.addComment("the $L products above as one job", group.size());
        m.addStatement("k.$LGroup($L,$W$L,$W$L,$W$L,$W$L,$W$L,$W$L,$W$L)", first.kernel(), out.arena().field(),
            name + "_OUT",
            inp.arena().field(), inp.tensor().constant(), weight.arena().arrays(), name + "_WEIGHTS", name + "_ROWS",
            ((Arg.Size) first.args().get(5)).expression());
      }
      i = end;
    }
    return m.build();
  }

  /**
   * Whether {@code next} joins {@code group} (see {@link #stageMethod}): products of the same row and width into
   * the same arena, each into a tensor of its own, so that running them at once changes nothing.
   */
  private static boolean groupsWith(List<Op> group, Op next) {
    Op first = group.get(0);
    if (!rowProduct(first) || !rowProduct(next) || !first.kernel().equals(next.kernel())
        || !(first.args().get(0) instanceof Arg.TensorRef a && next.args().get(0) instanceof Arg.TensorRef b
            && a.arena() == b.arena())
        || !first.args().get(1).equals(next.args().get(1))
        || ((Arg.Size) first.args().get(5)).value() != ((Arg.Size) next.args().get(5)).value()) {
      return false;
    }
    for (Op op : group) {
      if (op.args().get(0).equals(next.args().get(0))) {
        return false;
      }
    }
    return true;
  }

  /** A bfloat16 or int8 product of one row, without bias, from a tensor that is not its output. */
  private static boolean rowProduct(Op op) {
    return (op.kernel().equals("matmulForwardBf16") || op.kernel().equals("matmulForwardInt8"))
        && op.args().get(0) instanceof Arg.TensorRef out
        && op.args().get(1) instanceof Arg.TensorRef inp && !inp.tensor().equals(out.tensor())
        && op.args().get(2) instanceof Arg.TensorRef w
        && w.arena() == (op.kernel().equals("matmulForwardBf16") ? Arena.BF16 : Arena.INT8)
        && op.args().get(3) instanceof Arg.None
        && op.args().get(4) instanceof Arg.Size n && n.value() == 1;
  }

  private static void groupArray(TypeSpec.Builder type, String name, List<Op> group,
      Function<Op, String> element) {
    type.addField(FieldSpec.builder(INTS, name, Modifier.PRIVATE, Modifier.STATIC, Modifier.FINAL)
        .initializer("{$L}", String.join(", ", group.stream().map(element).toList()))
        .build());
  }

  static CodeBlock call(Op op) {
    CodeBlock.Builder args = CodeBlock.builder();
    List<Arg> list = op.args();
    for (int i = 0; i < list.size(); i++) {
      if (i > 0) {
        args.add(",$W");
      }
      switch (list.get(i)) {
        case Arg.TensorRef r -> args.add("$L, $L", r.arena().arrays(), r.tensor().constant());
        case Arg.At at -> args.add("$L, $L + $L", at.arena().arrays(), at.tensor().constant(), at.offset());
        case Arg.Row r -> args.add("$L, $L + $L * $L", r.arena().arrays(), r.tensor().constant(), r.index(),
            r.rowSize());
        case Arg.None unused -> args.add("null, 0");
        case Arg.Size s -> args.add("$L", s.expression());
        case Arg.Inputs unused -> args.add("inputs");
        case Arg.Targets unused -> args.add("targets");
      }
    }
    return CodeBlock.of("k.$L($L)", op.kernel(), args.build());
  }
}
