import Testing
@testable import Daemon

@Suite("Daemon configuration: model.pixel_decoder")
struct PixelDecoderConfigurationTests {
    @Test("exact by default (also in the example file); incremental when asked")
    func values() throws {
        #expect("\(try DaemonConfiguration(yaml: "model: {threads: 2}\n").model.pixelDecoder)" == "exact")
        let path = DaemonTestSupport.packageRoot.appendingPathComponent("config/referstreamd.yaml").path
        #expect("\(try DaemonConfiguration(contentsOfFile: path).model.pixelDecoder)" == "exact")
        #expect("\(try DaemonConfiguration(yaml: "model:\n  pixel_decoder: incremental\n").model.pixelDecoder)" == "incremental")
    }

    @Test("an unknown mode names the key, the line and the modes")
    func unknown() {
        do {
            _ = try DaemonConfiguration(yaml: "model:\n  threads: 2\n  pixel_decoder: fast\n", file: "test.yaml")
            Issue.record("accepted an unknown mode")
        } catch {
            #expect(error.code == .invalidValue && error.key == "model.pixel_decoder" && error.line == 3, "\(error)")
            #expect("\(error)".contains("use one of exact, incremental"), "\(error)")
        }
    }
}
