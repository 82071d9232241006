import Foundation
import Testing
@testable import WireProtocol

@Suite("Mask header")
struct MaskHeaderTests {
    static let headers: [MaskHeader] = [
        MaskHeader(stream: "cam0", phraseID: "p1", phrase: "the man in the \"red\" jacket\\", trackID: 3, sequence: 17,
                   frame: 1234, pts: 49.36, captureTime: 1_764_081_600.125, publishTime: 1_764_081_600.301, width: 640,
                   height: 360, score: 0.87, box: [212, 40.5, 181, 305], present: true, encoding: .rle),
        MaskHeader(stream: "a.b-c_d", phraseID: "x", phrase: "tab\there\nnew line \u{01} ünïcødé 🦄 / slash", trackID: nil,
                   sequence: UInt64(Int64.max), frame: 0, pts: nil, captureTime: 0, publishTime: 1e-05, width: 1, height: 1,
                   score: 1e-7, box: nil, present: false, encoding: .bits),
    ]

    @Test("the hand-written JSON parses back (JSONDecoder) to the same header", arguments: 0..<2)
    func roundTrip(_ index: Int) throws {
        let header = Self.headers[index]
        let bytes = header.jsonBytes()
        #expect(try MaskHeader(jsonBytes: bytes) == header, "\(String(decoding: bytes, as: UTF8.self))")
        // And it carries the same keys and values as JSONEncoder's encoding of the Codable header.
        let reference = try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(header))
        let fast = try JSONDecoder().decode(JSONValue.self, from: Data(bytes))
        #expect(fast == reference, "\(fast) vs \(reference)")
    }

    @Test("non-finite numbers become null instead of invalid JSON")
    func nonFinite() throws {
        var header = Self.headers[0]
        header.score = .nan
        header.pts = .infinity
        let value = try JSONDecoder().decode(JSONValue.self, from: Data(header.jsonBytes()))
        #expect(value["score"] == .null && value["pts"] == .null)
    }
}
