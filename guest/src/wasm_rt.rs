//! The `no_std` runtime of the component: an abort-on-panic handler and a
//! small allocator (power-of-two size classes with free lists, carved from
//! memory grown on demand). Each call runs in a fresh store, so simplicity
//! beats fragmentation handling here.

use core::alloc::{GlobalAlloc, Layout};
use core::arch::wasm32;
use core::cell::UnsafeCell;

const PAGE: usize = 65_536;
/// Blocks are at least this big and this aligned.
const MIN: usize = 16;
const CLASSES: usize = usize::BITS as usize;

struct Heap {
    free: [usize; CLASSES],
    next: usize,
    end: usize,
}

struct Alloc(UnsafeCell<Heap>);

// SAFETY: the component is single-threaded.
unsafe impl Sync for Alloc {}

#[global_allocator]
static ALLOC: Alloc = Alloc(UnsafeCell::new(Heap { free: [0; CLASSES], next: 0, end: 0 }));

/// The size class (log2 of the block size) of `layout`, if it has one.
fn class(layout: Layout) -> Option<usize> {
    let size = layout.size().max(layout.align()).max(MIN);
    let k = size.checked_next_power_of_two()?.trailing_zeros() as usize;
    (k < CLASSES - 1).then_some(k)
}

unsafe impl GlobalAlloc for Alloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let Some(k) = class(layout) else { return core::ptr::null_mut() };
        // SAFETY: single-threaded, and no reference to the heap outlives this call.
        let h = unsafe { &mut *self.0.get() };
        if layout.align() <= MIN && h.free[k] != 0 {
            let block = h.free[k];
            // SAFETY: a free block starts with the address of the next free block.
            h.free[k] = unsafe { *(block as *const usize) };
            return block as *mut u8;
        }
        if h.end == 0 {
            h.next = wasm32::memory_size(0) * PAGE;
            h.end = h.next;
        }
        let align = layout.align().max(MIN);
        let start = (h.next + align - 1) & !(align - 1);
        let Some(stop) = start.checked_add(1 << k) else { return core::ptr::null_mut() };
        if stop > h.end {
            let pages = (stop - h.end).div_ceil(PAGE);
            if wasm32::memory_grow(0, pages) == usize::MAX {
                return core::ptr::null_mut();
            }
            h.end += pages * PAGE;
        }
        h.next = stop;
        start as *mut u8
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // Over-aligned blocks are not recycled (they are rare and may sit anywhere).
        let Some(k) = class(layout) else { return };
        if layout.align() > MIN {
            return;
        }
        // SAFETY: single-threaded; the block is at least MIN bytes and ours again.
        unsafe {
            let h = &mut *self.0.get();
            *(ptr as *mut usize) = h.free[k];
            h.free[k] = ptr as usize;
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller guarantees `layout.align()` is a valid alignment.
        let new = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        if class(layout).is_some() && class(layout) == class(new) {
            return ptr;
        }
        // SAFETY: as for `alloc`/`dealloc`; the copy stays within both blocks.
        unsafe {
            let p = self.alloc(new);
            if !p.is_null() {
                core::ptr::copy_nonoverlapping(ptr, p, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
            p
        }
    }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    wasm32::unreachable()
}

// `memcpy`, `memset`, `memcmp`, ... come from wasi-libc's static `libc.a`
// (only those objects are linked; nothing of libc's start-up is used).
#[link(name = "c")]
unsafe extern "C" {}

/// The canonical ABI's allocator export, over the global allocator (with
/// `std` it would come from wasi-libc, over libc's malloc).
///
/// # Safety
/// Called by the component runtime only, per the canonical ABI.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cabi_realloc(old_ptr: *mut u8, old_len: usize, align: usize, new_len: usize) -> *mut u8 {
    if new_len == 0 {
        return align as *mut u8;
    }
    // SAFETY: the canonical ABI passes a valid alignment, and `old_ptr` was
    // allocated by this allocator with `old_len` bytes when `old_len > 0`.
    let p = unsafe {
        if old_len == 0 {
            ALLOC.alloc(Layout::from_size_align_unchecked(new_len, align))
        } else {
            ALLOC.realloc(old_ptr, Layout::from_size_align_unchecked(old_len, align), new_len)
        }
    };
    if p.is_null() {
        wasm32::unreachable()
    }
    p
}
