// A bug behind four nested byte comparisons: blind random inputs reach it once in 2^32 tries, a coverage-guided
// fuzzer one byte at a time (each comparison passed is a new block covered).
export function plantedBug(data: Buffer): void {
  if (data[0] === 0x46) {
    if (data[1] === 0x55) {
      if (data[2] === 0x5a) {
        if (data[3] === 0x5a) throw new Error("planted bug reached");
      }
    }
  }
}
