// Loading a state dict from a checkpoint file of either supported format, chosen by content.
import Foundation

extension StateDict {
    /// Reads the weights at `url`: a safetensors file, or a PyTorch `.pth` (zip or legacy format;
    /// `{'model': state_dict, …}` or a bare state dict). The format is recognised from the file's
    /// first bytes, not its name.
    /// - Throws: `.io` naming the file when it is missing, unreadable or in neither format.
    public convenience init(contentsOf url: URL) throws(ReferFormerError) {
        guard FileManager.default.isReadableFile(atPath: url.path) else {
            throw ReferFormerError(.io, "cannot read the weights \(url.path): no such readable file")
        }
        if Self.looksLikePyTorch(url) {
            try self.init(pyTorchAt: url)
        } else {
            try self.init(safetensorsAt: url)
        }
    }

    /// A zip archive (`PK\x03\x04`) or a legacy pickle stream (`\x80\x02`, protocol 2) is PyTorch's;
    /// a safetensors file starts with an 8-byte little-endian header length.
    static func looksLikePyTorch(_ url: URL) -> Bool {
        guard let handle = try? FileHandle(forReadingFrom: url) else { return false }
        defer { try? handle.close() }
        let head = [UInt8]((try? handle.read(upToCount: 4)) ?? Data())
        return head.starts(with: [0x50, 0x4B, 0x03, 0x04]) || head.starts(with: [0x80, 0x02])
    }
}
