/// Element types of checkpoint tensors. Raw values are the safetensors dtype names.
public enum DType: String, Sendable, CaseIterable, Hashable {
    case float32 = "F32"
    case float16 = "F16"
    case bfloat16 = "BF16"
    case float64 = "F64"
    case int64 = "I64"
    case int32 = "I32"
    case int16 = "I16"
    case int8 = "I8"
    case uint8 = "U8"
    case bool = "BOOL"

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .float64, .int64: 8
        case .float32, .int32: 4
        case .float16, .bfloat16, .int16: 2
        case .int8, .uint8, .bool: 1
        }
    }

    /// True for F32, F16, BF16 and F64.
    public var isFloatingPoint: Bool {
        switch self {
        case .float32, .float16, .bfloat16, .float64: true
        default: false
        }
    }

    /// The dtype of a PyTorch typed-storage class (`torch.FloatStorage` → `.float32`), as named in pickles.
    /// `torch.cuda.FloatStorage` (older writers, GPU-trained checkpoints) maps like `torch.FloatStorage`:
    /// the bytes are the same, only the device differs, and this reader loads everything to the CPU.
    public init?(torchStorageClass name: String) {
        let cudaPrefix = "torch.cuda."
        let name = name.hasPrefix(cudaPrefix) ? "torch." + name.dropFirst(cudaPrefix.count) : name
        switch name {
        case "torch.FloatStorage": self = .float32
        case "torch.HalfStorage": self = .float16
        case "torch.BFloat16Storage": self = .bfloat16
        case "torch.DoubleStorage": self = .float64
        case "torch.LongStorage": self = .int64
        case "torch.IntStorage": self = .int32
        case "torch.ShortStorage": self = .int16
        case "torch.CharStorage": self = .int8
        case "torch.ByteStorage": self = .uint8
        case "torch.BoolStorage": self = .bool
        default: return nil
        }
    }
}
