// The workbench firmware: TensorFlow Lite Micro with every operator the board has room for,
// running whatever model the model slot holds (docs/model-slot.md), in demo mode (the slot's
// samples, predictions printed for a plotter) or host mode (framed requests from the workbench,
// docs/firmware-protocol.md). The board layer is platform.h.

#include <stdint.h>
#include <string.h>

#include "firmware_ops.h"
#include "model_slot.h"
#include "platform.h"
#include "tensorflow/lite/micro/cortex_m_generic/debug_log_callback.h"
#include "tensorflow/lite/micro/micro_interpreter.h"
#include "tensorflow/lite/micro/micro_log.h"
#include "tensorflow/lite/micro/micro_profiler_interface.h"
#include "tensorflow/lite/schema/schema_generated.h"

#ifndef FIRMWARE_ARENA_BYTES
#define FIRMWARE_ARENA_BYTES (256 * 1024)
#endif
#ifndef FIRMWARE_VERSION
#define FIRMWARE_VERSION "1"
#endif
#ifndef FIRMWARE_TFLM_COMMIT
#define FIRMWARE_TFLM_COMMIT "unknown"
#endif
#ifndef FIRMWARE_KERNELS
#define FIRMWARE_KERNELS "reference"
#endif

namespace {

constexpr uint8_t kSync0 = 0xA5, kSync1 = 0x5A;
constexpr uint32_t kMaxPayload = 4096;
constexpr uint8_t kHello = 0x01, kSetInput = 0x02, kInvoke = 0x03, kGetOutput = 0x04, kGetProfile = 0x05,
                  kDemo = 0x06;
constexpr uint8_t kOk = 0x80, kInfo = 0x81, kInvoked = 0x83, kOutput = 0x84, kProfile = 0x85, kError = 0xEE;
constexpr uint8_t kBadFrame = 1, kUnknown = 2, kNoModel = 3, kBadTensor = 4, kInvokeFailed = 5;
constexpr int kMaxEvents = 512;
constexpr int kMaxMissing = 16;
const uint8_t kSamplesMagic[4] = {'T', 'M', 'W', 'D'};

alignas(16) uint8_t tensor_arena[FIRMWARE_ARENA_BYTES];

// ---- small text helpers (no printf: it would cost more flash than the whole protocol) ---------

struct Text {
  char buffer[kMaxPayload];
  uint32_t length = 0;
  void add(const char* text) {
    while (*text != '\0' && length < sizeof(buffer)) buffer[length++] = *text++;
  }
  void add_char(char c) {
    if (length < sizeof(buffer)) buffer[length++] = c;
  }
  void add_uint(uint64_t value) {
    char digits[24];
    int count = 0;
    do {
      digits[count++] = static_cast<char>('0' + value % 10);
      value /= 10;
    } while (value != 0);
    while (count > 0) add_char(digits[--count]);
  }
  void add_hex(uint32_t value) {
    add("0x");
    for (int shift = 28; shift >= 0; shift -= 4) add_char("0123456789ABCDEF"[(value >> shift) & 15]);
  }
  // Five decimals, as Arduino's Serial.print(value, 5) prints them.
  void add_float(float value) {
    if (value != value) {
      add("nan");
      return;
    }
    if (value < 0) {
      add_char('-');
      value = -value;
    }
    if (value > 4294967040.0f) {
      add("ovf");
      return;
    }
    double rounded = static_cast<double>(value) + 0.000005;
    uint32_t whole = static_cast<uint32_t>(rounded);
    add_uint(whole);
    add_char('.');
    double rest = rounded - whole;
    for (int i = 0; i < 5; ++i) {
      rest *= 10;
      int digit = static_cast<int>(rest);
      add_char(static_cast<char>('0' + digit));
      rest -= digit;
    }
  }
  void field(const char* key, const char* value) {
    add_char(' ');
    add(key);
    add_char('=');
    add(value);
  }
  void field_uint(const char* key, uint64_t value) {
    add_char(' ');
    add(key);
    add_char('=');
    add_uint(value);
  }
};

uint32_t u32(const uint8_t* bytes) {
  return static_cast<uint32_t>(bytes[0]) | (static_cast<uint32_t>(bytes[1]) << 8) |
         (static_cast<uint32_t>(bytes[2]) << 16) | (static_cast<uint32_t>(bytes[3]) << 24);
}

void put_u32(uint8_t* bytes, uint32_t value) {
  for (int i = 0; i < 4; ++i) bytes[i] = static_cast<uint8_t>(value >> (8 * i));
}

uint32_t crc32_update(uint32_t crc, const uint8_t* bytes, uint32_t length) {
  for (uint32_t i = 0; i < length; ++i) {
    crc ^= bytes[i];
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return crc;
}

uint32_t crc32(const uint8_t* bytes, uint32_t length) { return ~crc32_update(0xFFFFFFFFu, bytes, length); }

// ---- per-operator timing, through TFLM's profiler interface -----------------------------------

class OpProfiler : public tflite::MicroProfilerInterface {
 public:
  uint32_t BeginEvent(const char* tag) override {
    if (count_ >= kMaxEvents) return kMaxEvents;
    tags_[count_] = tag;
    starts_[count_] = platform_ticks();
    return static_cast<uint32_t>(count_++);
  }
  void EndEvent(uint32_t handle) override {
    if (handle < static_cast<uint32_t>(kMaxEvents)) ticks_[handle] = platform_ticks() - starts_[handle];
  }
  void Clear() { count_ = 0; }
  int count() const { return count_; }
  const char* tag(int i) const { return tags_[i]; }
  uint64_t ticks(int i) const { return ticks_[i]; }

 private:
  const char* tags_[kMaxEvents] = {};
  uint64_t starts_[kMaxEvents] = {};
  uint64_t ticks_[kMaxEvents] = {};
  int count_ = 0;
};

// ---- the model, from the slot ------------------------------------------------------------------

struct Samples {
  uint32_t count = 0;
  uint32_t bytes_each = 0;
  const char* labels = nullptr;
  uint32_t labels_bytes = 0;
  const uint8_t* data = nullptr;
};

OpResolver resolver;
OpProfiler profiler;
tflite::MicroInterpreter* interpreter = nullptr;
const char* slot_word = "empty";
const uint8_t* model_bytes = nullptr;
unsigned int model_length = 0;
const char* missing[kMaxMissing];
int missing_count = 0;
bool arena_failed = false;
Samples samples;

const char* slot_status_word(int status) {
  switch (status) {
    case MODEL_SLOT_OK:
      return "ok";
    case MODEL_SLOT_BAD_VERSION:
      return "bad-version";
    case MODEL_SLOT_BAD_LENGTH:
      return "bad-length";
    case MODEL_SLOT_BAD_CRC:
      return "bad-crc";
    default:
      return "empty";
  }
}

// The samples section after the model (docs/model-slot.md): checked whole, else none.
void find_samples(const uint8_t* slot, uint32_t slot_bytes) {
  const uint32_t start = MODEL_SLOT_HEADER_SIZE + ((model_length + 15u) & ~15u);
  if (start + 24u > slot_bytes) return;
  const uint8_t* head = slot + start;
  if (memcmp(head, kSamplesMagic, 4) != 0 || u32(head + 4) != 1u) return;
  const uint32_t count = u32(head + 8), each = u32(head + 12), labels = u32(head + 16);
  if (each == 0 || count == 0 || labels > slot_bytes || count > (slot_bytes - start) / each) return;
  const uint64_t body = static_cast<uint64_t>(labels) + static_cast<uint64_t>(count) * each;
  if (start + 24u + body > slot_bytes || crc32(head + 24, static_cast<uint32_t>(body)) != u32(head + 20)) return;
  samples.count = count;
  samples.bytes_each = each;
  samples.labels = reinterpret_cast<const char*>(head + 24);
  samples.labels_bytes = labels;
  samples.data = head + 24 + labels;
}

void find_missing_ops(const tflite::Model* model) {
  const auto* codes = model->operator_codes();
  if (codes == nullptr) return;
  for (uint32_t i = 0; i < codes->size() && missing_count < kMaxMissing; ++i) {
    const auto* code = codes->Get(i);
    const int builtin = code->builtin_code() > code->deprecated_builtin_code() ? code->builtin_code()
                                                                                : code->deprecated_builtin_code();
    const auto op = static_cast<tflite::BuiltinOperator>(builtin);
    const bool found = op == tflite::BuiltinOperator_CUSTOM
                           ? (code->custom_code() != nullptr && resolver.FindOp(code->custom_code()->c_str()) != nullptr)
                           : resolver.FindOp(op) != nullptr;
    if (!found) {
      missing[missing_count++] = op == tflite::BuiltinOperator_CUSTOM && code->custom_code() != nullptr
                                     ? code->custom_code()->c_str()
                                     : tflite::EnumNameBuiltinOperator(op);
    }
  }
}

void start_model() {
  const uint8_t* slot = platform_slot_address();
  const uint32_t slot_bytes = platform_slot_bytes();
  const int status = model_slot_check(slot, &model_length);
  slot_word = slot_status_word(status);
  if (status != MODEL_SLOT_OK || model_length > slot_bytes - MODEL_SLOT_HEADER_SIZE) {
    model_length = 0;
    return;
  }
  model_bytes = slot + MODEL_SLOT_HEADER_SIZE;
  const tflite::Model* model = tflite::GetModel(model_bytes);
  find_missing_ops(model);
  find_samples(slot, slot_bytes);
  if (missing_count > 0) return;
  static tflite::MicroInterpreter static_interpreter(model, resolver, tensor_arena, sizeof(tensor_arena), nullptr,
                                                     &profiler);
  if (static_interpreter.AllocateTensors() != kTfLiteOk) {
    arena_failed = true;
    return;
  }
  interpreter = &static_interpreter;
}

const char* type_name(TfLiteType type) {
  switch (type) {
    case kTfLiteFloat32:
      return "float32";
    case kTfLiteInt8:
      return "int8";
    case kTfLiteUInt8:
      return "uint8";
    case kTfLiteInt16:
      return "int16";
    case kTfLiteInt32:
      return "int32";
    case kTfLiteBool:
      return "bool";
    default:
      return "other";
  }
}

void describe(Text& text) {
  text.field("fw", FIRMWARE_VERSION);
  text.field("protocol", "1");
  text.field("board", platform_board());
  text.field("tflm", FIRMWARE_TFLM_COMMIT);
  text.field("kernels", FIRMWARE_KERNELS);
  text.field_uint("arena", sizeof(tensor_arena));
  text.field("slot", slot_word);
  text.field_uint("model_bytes", model_length);
  text.add(" model_crc=");
  text.add_hex(model_length ? crc32(model_bytes, model_length) : 0u);
  text.field_uint("samples", samples.count);
  text.field("clock", platform_clock_name());
  text.field_uint("clock_hz", platform_clock_hz());
  text.add(" missing=");
  for (int i = 0; i < missing_count; ++i) {
    if (i > 0) text.add_char(',');
    text.add(missing[i]);
  }
  if (missing_count == 0) text.add_char('-');
  if (arena_failed) text.field("error", "arena");
  if (interpreter != nullptr) text.field_uint("arena_used", interpreter->arena_used_bytes());
}

void write_text(const Text& text) { platform_write(reinterpret_cast<const uint8_t*>(text.buffer), text.length); }

// ---- demo mode ---------------------------------------------------------------------------------

float output_value(const TfLiteTensor* output, int index) {
  const float scale = output->params.scale;
  const int zero = output->params.zero_point;
  switch (output->type) {
    case kTfLiteFloat32:
      return output->data.f[index];
    case kTfLiteInt8:
      return static_cast<float>(output->data.int8[index] - zero) * scale;
    case kTfLiteUInt8:
      return static_cast<float>(output->data.uint8[index] - zero) * scale;
    case kTfLiteInt16:
      return static_cast<float>(output->data.i16[index] - zero) * scale;
    default:
      return 0.0f;
  }
}

int element_count(const TfLiteTensor* tensor) {
  int count = 1;
  for (int i = 0; tensor->dims != nullptr && i < tensor->dims->size; ++i) count *= tensor->dims->data[i];
  return count;
}

// Label `index` of the samples section, with the characters a plotter splits at replaced.
void add_label(Text& text, int index) {
  const char* label = samples.labels;
  const char* end = samples.labels + samples.labels_bytes;
  for (int i = 0; i < index && label < end; ++i) {
    while (label < end && *label != '\n') ++label;
    if (label < end) ++label;
  }
  uint32_t written = 0;
  for (; label < end && *label != '\n'; ++label, ++written) {
    const char c = *label;
    text.add_char(c == ' ' || c == '\t' || c == ',' || c == ':' || c == '\r' ? '_' : c);
  }
  if (written == 0) {
    text.add("class");
    text.add_uint(static_cast<uint64_t>(index));
  }
}

uint32_t demo_index = 0;

void demo_step() {
  if (interpreter == nullptr || samples.count == 0) return;
  TfLiteTensor* input = interpreter->input(0);
  if (input->bytes != samples.bytes_each) return;
  memcpy(input->data.raw, samples.data + static_cast<size_t>(demo_index) * samples.bytes_each, input->bytes);
  demo_index = (demo_index + 1) % samples.count;
  profiler.Clear();
  const uint64_t start = platform_ticks();
  const TfLiteStatus status = interpreter->Invoke();
  const uint64_t ticks = platform_ticks() - start;
  Text text;
  if (status != kTfLiteOk) {
    text.add("error: Invoke() failed\n");
    write_text(text);
    return;
  }
  const TfLiteTensor* output = interpreter->output(0);
  const int count = element_count(output);
  for (int i = 0; i < count; ++i) {
    if (i > 0) text.add_char(' ');
    add_label(text, i);
    text.add_char(':');
    text.add_float(output_value(output, i));
  }
  const uint32_t hz = platform_clock_hz();
  text.add(" inference_us:");
  text.add_uint(hz ? ticks * 1000000u / hz : ticks);
  text.add_char('\n');
  write_text(text);
}

// ---- host mode ---------------------------------------------------------------------------------

uint8_t frame[kMaxPayload + 11];
uint32_t frame_fill = 0;
bool host_mode = false;

void send(uint8_t kind, const uint8_t* payload, uint32_t length) {
  uint8_t head[5] = {kSync0, kSync1, static_cast<uint8_t>(length), static_cast<uint8_t>(length >> 8), kind};
  uint32_t crc = crc32_update(0xFFFFFFFFu, head + 2, 3);
  crc = ~crc32_update(crc, payload, length);
  uint8_t tail[4];
  put_u32(tail, crc);
  platform_write(head, sizeof(head));
  if (length) platform_write(payload, length);
  platform_write(tail, sizeof(tail));
}

void send_error(uint8_t code, const char* text) {
  uint8_t payload[64];
  payload[0] = code;
  uint32_t length = 1;
  while (*text != '\0' && length < sizeof(payload)) payload[length++] = static_cast<uint8_t>(*text++);
  send(kError, payload, length);
}

TfLiteTensor* tensor_at(bool is_input, uint8_t index) {
  if (interpreter == nullptr) return nullptr;
  const size_t count = is_input ? interpreter->inputs_size() : interpreter->outputs_size();
  if (index >= count) return nullptr;
  return is_input ? interpreter->input(index) : interpreter->output(index);
}

void answer(uint8_t kind, const uint8_t* payload, uint32_t length) {
  if (kind == kHello) {
    static Text text;
    text.length = 0;
    describe(text);
    if (interpreter != nullptr) {
      text.field_uint("inputs", interpreter->inputs_size());
      text.field_uint("outputs", interpreter->outputs_size());
      for (int pass = 0; pass < 2; ++pass) {
        const size_t count = pass == 0 ? interpreter->inputs_size() : interpreter->outputs_size();
        for (size_t i = 0; i < count; ++i) {
          const TfLiteTensor* tensor = pass == 0 ? interpreter->input(i) : interpreter->output(i);
          text.add(pass == 0 ? " in" : " out");
          text.add_uint(i);
          text.add_char('=');
          text.add(type_name(tensor->type));
          text.add_char(':');
          text.add_uint(tensor->bytes);
        }
      }
    }
    send(kInfo, reinterpret_cast<const uint8_t*>(text.buffer + 1), text.length - 1);
    return;
  }
  if (kind == kDemo) {
    host_mode = false;
    send(kOk, nullptr, 0);
    return;
  }
  if (kind != kSetInput && kind != kInvoke && kind != kGetOutput && kind != kGetProfile) {
    send_error(kUnknown, "unknown request");
    return;
  }
  if (interpreter == nullptr) {
    send_error(kNoModel, "no model runs");
    return;
  }
  if (kind == kSetInput) {
    TfLiteTensor* tensor = length >= 5 ? tensor_at(true, payload[0]) : nullptr;
    const uint32_t offset = length >= 5 ? u32(payload + 1) : 0;
    if (tensor == nullptr || offset > tensor->bytes || length - 5 > tensor->bytes - offset) {
      send_error(kBadTensor, "input index or range");
      return;
    }
    memcpy(tensor->data.raw + offset, payload + 5, length - 5);
    send(kOk, nullptr, 0);
  } else if (kind == kInvoke) {
    profiler.Clear();
    const uint64_t start = platform_ticks();
    const TfLiteStatus status = interpreter->Invoke();
    const uint64_t ticks = platform_ticks() - start;
    uint8_t reply[9];
    reply[0] = status == kTfLiteOk ? 0 : kInvokeFailed;
    put_u32(reply + 1, static_cast<uint32_t>(ticks));
    put_u32(reply + 5, static_cast<uint32_t>(ticks >> 32));
    send(kInvoked, reply, sizeof(reply));
  } else if (kind == kGetOutput) {
    TfLiteTensor* tensor = length >= 7 ? tensor_at(false, payload[0]) : nullptr;
    const uint32_t offset = length >= 7 ? u32(payload + 1) : 0;
    if (tensor == nullptr || offset > tensor->bytes) {
      send_error(kBadTensor, "output index or range");
      return;
    }
    uint32_t want = static_cast<uint32_t>(payload[5]) | (static_cast<uint32_t>(payload[6]) << 8);
    if (want > tensor->bytes - offset) want = tensor->bytes - offset;
    if (want > kMaxPayload) want = kMaxPayload;
    send(kOutput, tensor->data.raw + offset, want);
  } else {
    static uint8_t reply[kMaxPayload];
    uint32_t used = 2;
    uint16_t count = 0;
    for (int i = 0; i < profiler.count(); ++i) {
      const char* tag = profiler.tag(i) != nullptr ? profiler.tag(i) : "?";
      const uint32_t name = static_cast<uint32_t>(strnlen(tag, 64));
      if (used + 5 + name > sizeof(reply)) break;
      const uint64_t ticks = profiler.ticks(i);
      put_u32(reply + used, ticks > 0xFFFFFFFFu ? 0xFFFFFFFFu : static_cast<uint32_t>(ticks));
      reply[used + 4] = static_cast<uint8_t>(name);
      memcpy(reply + used + 5, tag, name);
      used += 5 + name;
      ++count;
    }
    reply[0] = static_cast<uint8_t>(count);
    reply[1] = static_cast<uint8_t>(count >> 8);
    send(kProfile, reply, used);
  }
}

// Takes the bytes that arrived: frames are answered as soon as they are whole; anything before
// a sync byte is dropped.
void take(const uint8_t* bytes, size_t length) {
  for (size_t i = 0; i < length; ++i) {
    const uint8_t byte = bytes[i];
    if (frame_fill == 0 && byte != kSync0) continue;
    host_mode = true;
    if (frame_fill == 1 && byte != kSync1) {
      frame_fill = byte == kSync0 ? 1 : 0;
      continue;
    }
    frame[frame_fill++] = byte;
    if (frame_fill < 5) continue;
    const uint32_t payload_length = static_cast<uint32_t>(frame[2]) | (static_cast<uint32_t>(frame[3]) << 8);
    if (payload_length > kMaxPayload) {
      send_error(kBadFrame, "frame too long");
      frame_fill = 0;
      continue;
    }
    if (frame_fill < payload_length + 9) continue;
    frame_fill = 0;
    if (crc32(frame + 2, payload_length + 3) != u32(frame + 5 + payload_length)) {
      send_error(kBadFrame, "bad CRC");
      continue;
    }
    answer(frame[4], frame + 5, payload_length);
  }
}

void log_line(const char* text) {
  // TFLM's own messages (MicroPrintf) go out as lines of their own, never inside a frame.
  if (host_mode) return;
  Text line;
  line.add("tflm: ");
  line.add(text);
  line.add_char('\n');
  write_text(line);
}

void print_banner() {
  static Text banner;
  banner.length = 0;
  banner.add("workbench-firmware");
  describe(banner);
  banner.add_char('\n');
  write_text(banner);
}

}  // namespace

int main() {
  platform_init();
  RegisterDebugLogCallback(log_line);
  register_firmware_ops(resolver);
  start_model();
  print_banner();
  // With nothing to run, the banner comes again every few seconds: a monitor that opens the port
  // later (a USB serial port is opened after the board has started) still learns why.
  const uint64_t banner_every = static_cast<uint64_t>(platform_clock_hz()) * 3u;
  uint64_t banner_at = platform_ticks() + banner_every;
  uint8_t incoming[256];
  while (true) {
    platform_poll();
    const size_t got = platform_read(incoming, sizeof(incoming));
    if (got) take(incoming, got);
    if (host_mode || frame_fill != 0) continue;
    if (interpreter != nullptr && samples.count > 0) {
      demo_step();
    } else if (platform_ticks() >= banner_at) {
      print_banner();
      banner_at = platform_ticks() + banner_every;
    }
  }
}
