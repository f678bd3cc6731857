//! The `no_std` runtime of the component: an abort-on-panic handler and a
//! bump allocator over memory grown on demand.
//!
//! `alloc` bumps the top. Every call into the component runs in a fresh
//! store (a fresh instance and linear memory), so all memory is returned when
//! the call ends, and most frees can simply be ignored. The allocator stays
//! frugal anyway: freeing the most recent allocation moves the top back, and
//! growing or shrinking it happens in place (a growing `Vec` or `String` does
//! not leave copies behind); other frees are ignored.

use core::alloc::{GlobalAlloc, Layout};
use core::arch::wasm32;
use core::cell::UnsafeCell;

const PAGE: usize = 65_536;

struct Heap {
    /// The first free byte.
    top: usize,
    /// The end of linear memory.
    end: usize,
    /// The start of the most recent allocation.
    last: usize,
}

struct Alloc(UnsafeCell<Heap>);

// SAFETY: the component is single-threaded.
unsafe impl Sync for Alloc {}

#[global_allocator]
static ALLOC: Alloc = Alloc(UnsafeCell::new(Heap { top: 0, end: 0, last: 0 }));

impl Heap {
    /// Moves the top to `start + size`, growing memory when needed. Out of
    /// memory traps here, as `handle_alloc_error` would: the allocator never
    /// returns null.
    fn reach(&mut self, start: usize, size: usize) {
        let Some(stop) = start.checked_add(size) else { wasm32::unreachable() };
        if stop > self.end {
            let pages = (stop - self.end).div_ceil(PAGE);
            if wasm32::memory_grow(0, pages) == usize::MAX {
                wasm32::unreachable()
            }
            self.end += pages * PAGE;
        }
        self.top = stop;
    }
}

// Out of line: inlined into every caller (every drop, for `dealloc`) they
// cost about 2 KB of component size.
unsafe impl GlobalAlloc for Alloc {
    #[inline(never)]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: single-threaded, and no reference to the heap outlives this call.
        let h = unsafe { &mut *self.0.get() };
        if h.end == 0 {
            h.end = wasm32::memory_size(0) * PAGE;
            h.top = h.end;
        }
        let start = (h.top + layout.align() - 1) & !(layout.align() - 1);
        h.reach(start, layout.size());
        h.last = start;
        start as *mut u8
    }

    #[inline(never)]
    unsafe fn dealloc(&self, ptr: *mut u8, _: Layout) {
        // SAFETY: single-threaded, and no reference to the heap outlives this call.
        let h = unsafe { &mut *self.0.get() };
        if ptr as usize == h.last {
            h.top = h.last;
        }
    }

    #[inline(never)]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: single-threaded, and no reference to the heap outlives this call.
        let h = unsafe { &mut *self.0.get() };
        if ptr as usize == h.last {
            // The most recent allocation: grow or shrink it in place.
            h.reach(h.last, new_size);
            return ptr;
        }
        // SAFETY: the caller guarantees `layout.align()` is a valid alignment;
        // the copy stays within both blocks (the old one is left as it is).
        unsafe {
            let p = self.alloc(Layout::from_size_align_unchecked(new_size, layout.align()));
            core::ptr::copy_nonoverlapping(ptr, p, layout.size().min(new_size));
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
    // The allocator never returns null (it traps when out of memory).
    unsafe {
        if old_len == 0 {
            ALLOC.alloc(Layout::from_size_align_unchecked(new_len, align))
        } else {
            ALLOC.realloc(old_ptr, Layout::from_size_align_unchecked(old_len, align), new_len)
        }
    }
}
