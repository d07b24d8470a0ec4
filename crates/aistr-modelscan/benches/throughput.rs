//! Throughput benchmark (plain std timing, `harness = false`).
//!
//! Measures MB/s for (1) an opcode-dense ~100 MB pickle, (2) a ~100 MB pickle made of large
//! byte blobs, (3) the same dense pickle inside a PyTorch-style zip, and (4)/(5) multi-GB sparse
//! safetensors and GGUF files created at bench time with `set_len` (no disk cost): only their
//! headers are read, so these should be near instant.
//!
//! Run: `cargo bench -p aistr-modelscan --bench throughput`

#![allow(clippy::print_stdout)] // a benchmark reports on stdout

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::time::Instant;

use aistr_modelscan::{Limits, Verdict, scan_file};

fn dense_pickle(target: usize) -> Vec<u8> {
    let mut p = b"\x80\x04]\x94(".to_vec();
    let mut i: u32 = 0;
    while p.len() < target {
        // (int, "name_i") tuples appended in batches of 1000, like a big list of records.
        p.push(b'J');
        p.extend(i.to_le_bytes());
        let s = format!("param_{i}");
        p.push(0x8c);
        p.push(s.len() as u8);
        p.extend(s.as_bytes());
        p.push(0x86);
        i += 1;
        if i.is_multiple_of(1000) {
            p.extend(b"e(");
        }
    }
    p.extend(b"e.");
    p
}

fn blob_pickle(target: usize) -> Vec<u8> {
    let mut p = b"\x80\x04]\x94(".to_vec();
    let chunk = vec![0x5au8; 1 << 20];
    while p.len() < target {
        p.push(b'B');
        p.extend((chunk.len() as u32).to_le_bytes());
        p.extend(&chunk);
    }
    p.extend(b"e.");
    p
}

fn stored_zip(name: &str, data: &[u8]) -> Vec<u8> {
    let mut crc = flate2::Crc::new();
    crc.update(data);
    let crc = crc.sum();
    let mut v = Vec::with_capacity(data.len() + 200);
    v.extend(0x0403_4b50u32.to_le_bytes());
    v.extend([20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    v.extend(crc.to_le_bytes());
    v.extend((data.len() as u32).to_le_bytes());
    v.extend((data.len() as u32).to_le_bytes());
    v.extend((name.len() as u16).to_le_bytes());
    v.extend([0, 0]);
    v.extend(name.as_bytes());
    v.extend(data);
    let cd_off = v.len() as u32;
    v.extend(0x0201_4b50u32.to_le_bytes());
    v.extend([20, 3, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    v.extend(crc.to_le_bytes());
    v.extend((data.len() as u32).to_le_bytes());
    v.extend((data.len() as u32).to_le_bytes());
    v.extend((name.len() as u16).to_le_bytes());
    v.extend([0u8; 12]);
    v.extend(0u32.to_le_bytes());
    v.extend(name.as_bytes());
    let cd_size = v.len() as u32 - cd_off;
    v.extend(0x0605_4b50u32.to_le_bytes());
    v.extend([0, 0, 0, 0, 1, 0, 1, 0]);
    v.extend(cd_size.to_le_bytes());
    v.extend(cd_off.to_le_bytes());
    v.extend([0, 0]);
    v
}

fn sparse_safetensors(path: &Path, gib: u64) -> std::io::Result<u64> {
    let tensors = 512u64;
    let per = gib * (1 << 30) / tensors / 4 * 4;
    let mut h = String::from("{\"__metadata__\":{\"format\":\"pt\"}");
    for i in 0..tensors {
        h.push_str(&format!(
            ",\"layer.{i}.weight\":{{\"dtype\":\"F32\",\"shape\":[{}],\"data_offsets\":[{},{}]}}",
            per / 4,
            i * per,
            (i + 1) * per
        ));
    }
    h.push('}');
    let mut f = File::create(path)?;
    f.write_all(&(h.len() as u64).to_le_bytes())?;
    f.write_all(h.as_bytes())?;
    let len = 8 + h.len() as u64 + tensors * per;
    f.set_len(len)?;
    Ok(len)
}

fn gguf_str(v: &mut Vec<u8>, s: &str) {
    v.extend((s.len() as u64).to_le_bytes());
    v.extend(s.as_bytes());
}

fn sparse_gguf(path: &Path, gib: u64) -> std::io::Result<u64> {
    let tensors = 512u64;
    // Q8_0 rows of 4096 elements: 34 bytes per 32 elements.
    let row_bytes = 4096 / 32 * 34;
    let rows = gib * (1 << 30) / tensors / row_bytes;
    let per = rows * row_bytes;
    let per_aligned = per.div_ceil(32) * 32;
    let mut v = b"GGUF".to_vec();
    v.extend(3u32.to_le_bytes());
    v.extend(tensors.to_le_bytes());
    v.extend(2u64.to_le_bytes());
    gguf_str(&mut v, "general.name");
    v.extend(8u32.to_le_bytes());
    gguf_str(&mut v, "bench");
    gguf_str(&mut v, "tokenizer.chat_template");
    v.extend(8u32.to_le_bytes());
    gguf_str(&mut v, "{% for m in messages %}{{ m['content'] }}{% endfor %}");
    for i in 0..tensors {
        gguf_str(&mut v, &format!("blk.{i}.w"));
        v.extend(2u32.to_le_bytes());
        v.extend(4096u64.to_le_bytes());
        v.extend(rows.to_le_bytes());
        v.extend(8u32.to_le_bytes());
        v.extend((i * per_aligned).to_le_bytes());
    }
    let data_start = (v.len() as u64).div_ceil(32) * 32;
    let mut f = File::create(path)?;
    f.write_all(&v)?;
    let len = data_start + tensors * per_aligned;
    f.set_len(len)?;
    Ok(len)
}

fn bench(label: &str, path: &Path, bytes: u64, limits: &Limits) {
    let t = Instant::now();
    let out = scan_file(path, label, limits);
    let secs = t.elapsed().as_secs_f64();
    let v = out.report.worst();
    let mb = bytes as f64 / 1e6;
    println!(
        "{label:<34} {:>10.1} MB in {:>8.3} s = {:>10.1} MB/s  verdict {}",
        mb,
        secs,
        mb / secs.max(1e-9),
        v.as_str()
    );
    if v != Verdict::Clean {
        println!("    (unexpected verdict: {:?})", out.report.files[0].findings);
    }
}

fn main() -> std::io::Result<()> {
    let dir = tempfile::tempdir()?;
    let limits = Limits {
        max_opcodes: 200_000_000,
        ..Limits::default()
    };

    let p = dense_pickle(100 << 20);
    let path = dir.path().join("dense.pkl");
    std::fs::write(&path, &p)?;
    bench("pickle, opcode-dense (~100 MB)", &path, p.len() as u64, &limits);

    let zipped = stored_zip("archive/data.pkl", &p);
    drop(p);
    let zpath = dir.path().join("dense.pt");
    std::fs::write(&zpath, &zipped)?;
    bench(
        "torch zip, dense data.pkl (~100 MB)",
        &zpath,
        zipped.len() as u64,
        &limits,
    );
    drop(zipped);

    let b = blob_pickle(100 << 20);
    let bpath = dir.path().join("blobs.pkl");
    std::fs::write(&bpath, &b)?;
    bench(
        "pickle, 1 MiB byte blobs (~100 MB)",
        &bpath,
        b.len() as u64,
        &limits,
    );
    drop(b);

    let st = dir.path().join("big.safetensors");
    let len = sparse_safetensors(&st, 8)?;
    bench("safetensors, sparse 8 GiB", &st, len, &limits);

    let gg = dir.path().join("big.gguf");
    let len = sparse_gguf(&gg, 8)?;
    bench("gguf, sparse 8 GiB", &gg, len, &limits);
    Ok(())
}
